// Package export owns the text formats credd prints raw credentials in,
// and the environment that points SDKs at credd instead (ContainerEnv,
// for `credd env` and `credd exec`). The formats of `aws configure
// export-credentials` (process, env, env-no-export, powershell,
// windows-cmd) are reproduced byte for byte, quirks included; fish and
// ini are credd's own.
//
// The AWS CLI's quirks, as its exportcreds.py has them:
//   - process is json.dumps(indent=2) with keys in the order Version,
//     AccessKeyId, SecretAccessKey, SessionToken, Expiration, non-ASCII
//     escaped as \uXXXX, and a trailing newline; SessionToken and
//     Expiration are left out when the credentials have none.
//   - The line formats write values unquoted (powershell inside double
//     quotes) and add AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION only
//     when there is a token or an expiry.
//   - The expiry is Python's datetime.isoformat() in UTC:
//     2099-01-01T00:00:00+00:00, with .ffffff only when the microseconds are
//     not zero.
//
// Because the line formats do not quote, Write refuses a value with a
// character a shell, PowerShell or cmd would interpret; real credentials
// (base64 and base64url) never have one.
package export

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/credfile"
)

// ErrUnknownFormat is returned for a format that Formats does not list.
var ErrUnknownFormat = errors.New("unknown export format")

// formats in the AWS CLI's order, then credd's own.
var formats = []string{"process", "env", "env-no-export", "powershell", "windows-cmd", "fish", "ini"}

// Formats lists the formats Write knows.
func Formats() []string { return append([]string(nil), formats...) }

// Check refuses, before any credentials are fetched, a format Write does
// not know, and a profile to write into the shared credentials file
// (writeProfile; "" writes none) that is not in the ini format or that
// the file cannot hold. Its errors are of kind cred.ErrInvalid and name
// the flag of `credd export` to change.
func Check(format, writeProfile string) error {
	switch {
	case writeProfile != "" && format != "ini":
		return cred.Errorf(cred.ErrInvalid, "--write needs --format ini")
	case !slices.Contains(formats, format):
		return cred.Errorf(cred.ErrInvalid, "--format: %q is not one of %s", format, strings.Join(formats, ", "))
	}
	if writeProfile != "" {
		if err := credfile.ValidateProfile(writeProfile); err != nil {
			return cred.Errorf(cred.ErrInvalid, "--write: %w", err)
		}
	}
	return nil
}

// Write prints c to w in format. profile names the section of the ini
// format and is unused by the others.
func Write(w io.Writer, format string, c cred.Credentials, profile string) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return errors.New("exporting credentials: no access key ID or secret access key")
	}
	var out []byte
	var err error
	switch format {
	case "process":
		out = process(c)
	case "env":
		out, err = perLine(format, c, func(k, v string) string { return "export " + k + "=" + v })
	case "env-no-export":
		out, err = perLine(format, c, func(k, v string) string { return k + "=" + v })
	case "powershell":
		out, err = perLine(format, c, func(k, v string) string { return "$Env:" + k + `="` + v + `"` })
	case "windows-cmd":
		out, err = perLine(format, c, func(k, v string) string { return "set " + k + "=" + v })
	case "fish":
		out, err = perLine(format, c, func(k, v string) string { return "set -gx " + k + " " + fishQuote(v) })
	case "ini":
		if profile == "" {
			return errors.New("exporting credentials as ini: no profile name for the section")
		}
		out, err = credfile.Section(profile, c)
	default:
		return fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("exporting credentials as %s: %w", format, err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("exporting credentials: %w", err)
	}
	return nil
}

// variables are the environment variables the CLI's line formats set, in
// its order.
func variables(c cred.Credentials) [][2]string {
	vars := [][2]string{{"AWS_ACCESS_KEY_ID", c.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey}}
	if c.SessionToken != "" {
		vars = append(vars, [2]string{"AWS_SESSION_TOKEN", c.SessionToken})
	}
	if !c.Expires.IsZero() {
		vars = append(vars, [2]string{"AWS_CREDENTIAL_EXPIRATION", Expiration(c.Expires)})
	}
	return vars
}

func perLine(format string, c cred.Credentials, set func(k, v string) string) ([]byte, error) {
	var b strings.Builder
	for _, kv := range variables(c) {
		if format != "fish" {
			if err := checkUnquoted(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		b.WriteString(set(kv[0], kv[1]) + "\n")
	}
	return []byte(b.String()), nil
}

// checkUnquoted allows only what base64, base64url, JWTs and the expiry
// are made of: nothing that sh, PowerShell (inside "...") or cmd would
// expand, split or run.
func checkUnquoted(name, v string) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=._:-", c) >= 0 {
			continue
		}
		return fmt.Errorf("%s has %q, which this format would write unquoted: use process, fish or ini", name, c)
	}
	return nil
}

// fishQuote quotes s for fish: inside '...' only \\ and \' are escapes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Expiration formats t as the AWS CLI prints an expiry: Python's
// datetime.isoformat() of a UTC time, to the microsecond (Python has no
// finer precision; the rest is truncated), with the fraction only when it
// is not zero.
func Expiration(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond() != 0 {
		layout += ".000000"
	}
	return t.Format(layout) + "+00:00"
}

// process is the credential_process document as the CLI prints it:
// json.dumps(output, indent=2, separators=(',', ': ')) and a newline.
func process(c cred.Credentials) []byte {
	fields := []string{
		`"Version": 1`,
		`"AccessKeyId": ` + pyJSONString(c.AccessKeyID),
		`"SecretAccessKey": ` + pyJSONString(c.SecretAccessKey),
	}
	if c.SessionToken != "" {
		fields = append(fields, `"SessionToken": `+pyJSONString(c.SessionToken))
	}
	if !c.Expires.IsZero() {
		fields = append(fields, `"Expiration": `+pyJSONString(Expiration(c.Expires)))
	}
	return []byte("{\n  " + strings.Join(fields, ",\n  ") + "\n}\n")
}

// pyJSONString is Python's json.dumps of a str with ensure_ascii=True:
// short escapes for " \ \n \r \t \b \f, \u00XX for other control
// characters and DEL, and \uXXXX (surrogate pairs above the BMP, lowercase
// hex) for everything outside ASCII. Unlike encoding/json it leaves <, >
// and & alone.
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= ' ' && r <= '~':
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
