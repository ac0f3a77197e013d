package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds any bytes to the config parser and checks what must
// hold for every file: no panic in the YAML library (Parse turns one into
// ErrParserFailed), none in Parse, Validate, Merge, Redacted or
// Salvage; every problem Parse reports names its key path (a non-empty
// key, unless the document itself is not a mapping); and a configuration
// that parses and validates, written out as YAML (as `credd config show`
// does) and parsed again, is the same configuration and still valid.
//
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		defer hangGuard(data).Stop()
		_ = Salvage(data)
		cfg, err := Parse(bytes.NewReader(data))
		if errors.Is(err, ErrParserFailed) {
			t.Fatalf("the YAML library panicked: %v", err)
		}
		if es, ok := AsErrors(err); ok {
			for _, e := range es {
				if e.Key == "" && !strings.Contains(e.Msg, "must be a mapping") {
					t.Fatalf("a problem without a key path: %q", e.Msg)
				}
			}
		} else if err != nil && !strings.Contains(err.Error(), "not valid YAML") && !strings.Contains(err.Error(), "decoding config") {
			t.Fatalf("an error that is neither a list of problems nor a YAML error: %v", err)
		}
		verr := cfg.Validate()
		if es, ok := AsErrors(err); ok {
			if merged := Merge(es, verr); merged == nil {
				t.Fatal("Merge dropped every problem")
			}
		}
		_ = cfg.Redacted()
		if err != nil || verr != nil {
			return
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("a valid config does not marshal: %v", err)
		}
		again, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("a valid config, written out, does not parse again: %v\n%s", err, out)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("a valid config, written out and parsed again, is invalid: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("a round trip changed the config:\n%s\nbecame\n%s", out, out2)
		}
	})
}

// hangGuard crashes the fuzzing process, naming the input, when one input
// takes longer than any parse of a small file could: go test -fuzz has no
// per-input timeout and would report a hang as nothing at all.
func hangGuard(data []byte) *time.Timer {
	return time.AfterFunc(30*time.Second, func() { panic(fmt.Sprintf("parsing took over 30s: %q", data)) })
}

// TestParserPanicIsAnError: a panic inside the YAML library reaches the
// caller as ErrParserFailed, not as a crash of the daemon that reloads.
func TestParserPanicIsAnError(t *testing.T) {
	err := safely(func() error { panic("hash of unhashable type") })
	if !errors.Is(err, ErrParserFailed) || !strings.Contains(err.Error(), "unhashable") {
		t.Errorf("safely(panic) = %v, want ErrParserFailed with the cause", err)
	}
	if err := safely(func() error { return nil }); err != nil {
		t.Errorf("safely(ok) = %v", err)
	}
}
