package daemon

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestZeroConfigFollowsTheAWSConfig: with no credd config file the shared
// AWS config is the configuration: editing it, however the editor saves,
// adds and removes served profiles without a reload command, and keeps the
// unchanged one's credentials.
func TestZeroConfigFollowsTheAWSConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, path, content string)
	}{
		{"replaced by rename", writeAtomic},
		{"written in place", func(t *testing.T, path, content string) {
			t.Helper()
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := countedProfile(t, "dev", "ASIADEV")
			ops := countedProfile(t, "ops", "ASIAOPS")
			extra := countedProfile(t, "extra", "ASIAEXTRA")
			r := startReloadable(t, "", dev.section+ops.section)
			for _, p := range []string{"dev", "ops"} {
				if code, body := r.served(t, p); code != 200 {
					t.Fatalf("%s before: %d %s", p, code, body)
				}
			}
			if code, _ := r.served(t, "extra"); code != 404 {
				t.Fatalf("extra before: %d, want 404", code)
			}
			tc.write(t, r.awsConfig, dev.section+extra.section)
			deadline := time.Now().Add(15 * time.Second)
			for {
				extraCode, body := r.served(t, "extra")
				opsCode, _ := r.served(t, "ops")
				if extraCode == 200 && opsCode == 404 {
					if !strings.Contains(body, "ASIAEXTRA") {
						t.Errorf("extra serves %s", body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the edit: extra %d, ops %d; want 200 and 404:\n%s", extraCode, opsCode, r.logs)
				}
				time.Sleep(20 * time.Millisecond) // polling the watcher's reaction
			}
			if code, _ := r.served(t, "dev"); code != 200 {
				t.Errorf("dev after the edit: %d", code)
			}
			if n := dev.calls(t); n != 1 {
				t.Errorf("unchanged dev fetched %d times, want 1", n)
			}
			if !strings.Contains(r.logs.String(), `"msg":"configuration changed on disk"`) {
				t.Errorf("the change was not logged:\n%s", r.logs)
			}
		})
	}
}
