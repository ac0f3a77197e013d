// Command credproc is the credential_process helper of credproctest: it
// does what the spec beside it says (<name>.json next to <name>[.exe]).
// Tests use it instead of shell scripts, which Windows cannot run.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// spec mirrors credproctest.Spec.
type spec struct {
	Output      string        `json:"output"`
	CountFile   string        `json:"count_file"`
	StartedFile string        `json:"started_file"`
	Sleep       time.Duration `json:"sleep"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "credproc:", err)
		os.Exit(1)
	}
}

func run() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(strings.TrimSuffix(exe, filepath.Ext(exe)) + ".json")
	if err != nil {
		return err
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.StartedFile != "" {
		if err := os.WriteFile(s.StartedFile, nil, 0o600); err != nil {
			return err
		}
	}
	if s.CountFile != "" {
		f, err := os.OpenFile(s.CountFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = f.WriteString("x\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	time.Sleep(s.Sleep)
	_, err = os.Stdout.WriteString(s.Output)
	return err
}
