package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/audit"
)

const withClients = twoProfiles + "clients:\n  ci: {profiles: [ops]}\n"

// TestClientTokenWithoutDaemon: with no daemon running, `credd client
// token` creates the token file (0600) and prints the same token again;
// `revoke` replaces it; `credd env --client` and `credd exec --client`
// point at that file for one of the client's profiles; unknown clients
// and profiles are usage errors.
func TestClientTokenWithoutDaemon(t *testing.T) {
	f := newFixture(t, withClients)
	f.writeToken(t)
	code, tok, errOut := f.run(t, "--config", f.cfgPath, "client", "token", "ci")
	tok = strings.TrimSpace(tok)
	if code != 0 || len(tok) != 64 {
		t.Fatalf("client token: %d %q %s", code, tok, errOut)
	}
	path := filepath.Join(f.stateDir, "clients", "ci.token")
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, fi, err)
	}
	if _, again, _ := f.run(t, "--config", f.cfgPath, "client", "token", "ci"); strings.TrimSpace(again) != tok {
		t.Errorf("a second `client token` printed %q, want %q", again, tok)
	}
	code, env, errOut := f.run(t, "--config", f.cfgPath, "env", "--client", "ci")
	if code != 0 || !strings.Contains(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='"+path+"'") ||
		!strings.Contains(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN='"+tok+"'") || !strings.Contains(env, "/v1/credentials/ops'") {
		t.Fatalf("env --client: %d\n%s%s", code, env, errOut)
	}
	// exec --client hands the child the same: the client's token file
	// and one of its profiles.
	child := []string{"/bin/sh", "-c", "env | grep '^AWS_CONTAINER_'"}
	if runtime.GOOS == "windows" {
		child = []string{"cmd.exe", "/C", "set AWS_CONTAINER_"}
	}
	code, out, errOut := f.run(t, append([]string{"--config", f.cfgPath, "exec", "--client", "ci", "--"}, child...)...)
	if code != 0 || !strings.Contains(out, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+path) || !strings.Contains(out, "/v1/credentials/ops") {
		t.Fatalf("exec --client: %d\n%s%s", code, out, errOut)
	}
	code, newTok, _ := f.run(t, "--config", f.cfgPath, "client", "revoke", "ci")
	if code != 0 || strings.TrimSpace(newTok) == tok {
		t.Fatalf("revoke: %d %q", code, newTok)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown client", []string{"client", "token", "nobody"}, `no client "nobody"`},
		{"env for an unknown client", []string{"env", "--client", "nobody"}, `no client "nobody"`},
		{"env for a profile the client may not take", []string{"env", "--client", "ci", "--profile", "dev"}, `client "ci" may not take profile "dev"`},
		{"exec for a profile the client may not take", []string{"exec", "--client", "ci", "--profile", "dev", "--", "true"}, `client "ci" may not take profile "dev"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := f.run(t, append([]string{"--config", f.cfgPath}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d: %s; want %d with %q", code, errOut, ExitUsage, tc.want)
			}
		})
	}
}

// TestAuditCommand: the table names program, PID, profile and result,
// with a program's control characters escaped (another user's program
// chooses its own name); --json prints the lines; --profile and --since
// filter.
func TestAuditCommand(t *testing.T) {
	f := newFixture(t, twoProfiles)
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(audit.Options{Path: filepath.Join(f.stateDir, AuditFile)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []audit.Entry{
		{Time: now.Add(-2 * time.Hour), Endpoint: "imds", Profile: "dev", Status: 200, PID: 11, Exe: "/usr/bin/aws", Client: "default"},
		{Time: now.Add(-time.Minute), Endpoint: "container", Profile: "ops", Status: 200, PID: 12, Exe: "/usr/bin/terraform", Client: "ci"},
		{Time: now, Endpoint: "imds", Status: 403, UID: "1001", PID: 13, Exe: "/tmp/evil\x1b[2J", Reason: "user 1001 may not use this credd", Count: 40},
	} {
		if err := l.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := f.run(t, "--config", f.cfgPath, "audit")
	if code != 0 {
		t.Fatalf("audit: %d %s", code, errOut)
	}
	for _, want := range []string{"PROGRAM", "/usr/bin/aws", "served", "served (client ci)", `/tmp/evil\x1b[2J`, "refused 40× (403): user 1001 may not use this credd"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("a control character reached the terminal")
	}
	for _, tc := range []struct {
		name string
		args []string
		pids []int
	}{
		{"json", []string{"--json"}, []int{11, 12, 13}},
		{"profile", []string{"--json", "--profile", "ops"}, []int{12}},
		{"since", []string{"--json", "--since", "1h"}, []int{12, 13}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := f.run(t, append([]string{"--config", f.cfgPath, "audit"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("%d %s", code, errOut)
			}
			var pids []int
			for line := range strings.Lines(out) {
				var e audit.Entry
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				pids = append(pids, e.PID)
			}
			if jsonInts(pids) != jsonInts(tc.pids) {
				t.Errorf("pids %v, want %v", pids, tc.pids)
			}
		})
	}
}

func jsonInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}
