package export

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/credd/credd/cred"
)

// Env is the environment that points SDKs at credd's container endpoint:
// the variables to set, in order, and those to clear, which every SDK's
// chain would read first (environment keys, profiles) or which turn the
// endpoint off.
type Env struct {
	Set   [][2]string
	Unset []string
}

// clearedVars would shadow the container endpoint for SDKs, or disable it.
var clearedVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_EC2_METADATA_DISABLED",
}

// ContainerEnv points SDKs at the container endpoint of the daemon
// listening on listen, for profile ("": the default profile), with the
// token both as the file at tokenPath (newer SDKs read it on every call)
// and as its value (older ones read only that). A region, if given, is
// set as AWS_REGION and AWS_DEFAULT_REGION.
func ContainerEnv(listen, profile, tokenPath string, token []byte, region string) Env {
	host, port, _ := net.SplitHostPort(listen)
	if host == "::1" {
		host = "[::1]"
	} else {
		host = "127.0.0.1" // the one host every SDK generation accepts in an http URI
	}
	uri := "http://" + host + ":" + port + "/v1/credentials"
	if profile != "" {
		uri += "/" + profile
	}
	e := Env{Unset: clearedVars, Set: [][2]string{
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenPath},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN", string(token)},
	}}
	if region != "" {
		e.Set = append(e.Set, [2]string{"AWS_REGION", region}, [2]string{"AWS_DEFAULT_REGION", region})
	}
	return e
}

// Write prints e as commands of shell: sh (bash, zsh), fish, powershell
// (pwsh) or cmd.
func (e Env) Write(w io.Writer, shell string) error {
	var set func(k, v string) string
	var unset func(k string) string
	switch shell {
	case "sh", "bash", "zsh":
		set = func(k, v string) string { return "export " + k + "=" + shQuote(v) }
		unset = func(k string) string { return "unset " + k }
	case "fish":
		set = func(k, v string) string { return "set -gx " + k + " " + shQuote(v) + ";" }
		unset = func(k string) string { return "set -e " + k + ";" }
	case "powershell", "pwsh":
		set = func(k, v string) string { return "$Env:" + k + " = '" + strings.ReplaceAll(v, "'", "''") + "'" }
		unset = func(k string) string { return "Remove-Item Env:" + k + " -ErrorAction SilentlyContinue" }
	case "cmd":
		set = func(k, v string) string { return "set " + k + "=" + v }
		unset = func(k string) string { return "set " + k + "=" }
	default:
		return cred.Errorf(cred.ErrInvalid, "%q is not one of sh, fish, powershell, cmd", shell)
	}
	var b strings.Builder
	for _, k := range e.Unset {
		b.WriteString(unset(k) + "\n")
	}
	for _, kv := range e.Set {
		b.WriteString(set(kv[0], kv[1]) + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the environment: %w", err)
	}
	return nil
}

// shQuote quotes for POSIX shells and fish.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Environ is environ (KEY=value entries) with e applied: the variables e
// sets or clears dropped, then e's added.
func (e Env) Environ(environ []string) []string {
	drop := map[string]bool{}
	for _, k := range e.Unset {
		drop[k] = true
	}
	for _, kv := range e.Set {
		drop[kv[0]] = true
	}
	var out []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range e.Set {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}
