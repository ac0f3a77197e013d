package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPrinter(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Time: at, Endpoint: "container", Profile: "dev", Status: 200, Exe: "/usr/bin/aws", PID: 42, Client: "default"},
		{Time: at, Endpoint: "container", Profile: "dev", Status: 200, Exe: "/usr/bin/python3", PID: 43, Client: "ci"},
		{Time: at, Endpoint: "imds", Status: 403, Remote: "10.0.0.2:5000", Reason: "user", Count: 7},
		{Time: at, Endpoint: "imds", Status: 403, UID: "1001", Reason: "scope\x1b[31m"},
		{Time: at, Endpoint: "container", Profile: "p\nq", Status: 401, Exe: "/tmp/evil\x07"},
	}
	t.Run("table", func(t *testing.T) {
		var b bytes.Buffer
		p := NewPrinter(&b, false, false)
		for _, e := range entries {
			p.Print(e)
		}
		if b.Len() != 0 {
			t.Errorf("wrote before Flush without follow: %q", b.String())
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{
			"TIME", "RESULT\n", "/usr/bin/aws", " 42 ", "served\n", "served (client ci)\n",
			"10.0.0.2:5000", "refused 7× (403): user\n", "uid 1001", `refused (403): scope\x1b[31m`,
			`/tmp/evil\a`, `p\nq`, "refused (401): \n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("control characters reached the terminal:\n%q", out)
		}
	})
	t.Run("follow writes each row at once", func(t *testing.T) {
		var b bytes.Buffer
		p := NewPrinter(&b, false, true)
		p.Print(entries[0])
		if !strings.Contains(b.String(), "/usr/bin/aws") {
			t.Errorf("row not written: %q", b.String())
		}
	})
	t.Run("JSON lines as in the file", func(t *testing.T) {
		var b bytes.Buffer
		p := NewPrinter(&b, true, false)
		for _, e := range entries {
			p.Print(e)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != len(entries) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), len(entries), b.String())
		}
		var e Entry
		if err := json.Unmarshal([]byte(lines[4]), &e); err != nil || e.Exe != entries[4].Exe || e.Profile != entries[4].Profile {
			t.Errorf("line 5: %v, %+v", err, e)
		}
	})
}
