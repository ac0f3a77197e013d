// Command credproc is the credential_process helper of credproctest: it
// does what the spec beside it says (<name>.json next to <name>[.exe]).
// Tests use it instead of shell scripts, which Windows cannot run.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// holdEnv makes the helper the child that holds the output (HangUnless).
const holdEnv = "CREDPROC_HOLD"

// spec mirrors credproctest.Spec.
type spec struct {
	Output      string        `json:"output"`
	CountFile   string        `json:"count_file"`
	StartedFile string        `json:"started_file"`
	Sleep       time.Duration `json:"sleep"`
	HangUnless  string        `json:"hang_unless"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "credproc:", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Getenv(holdEnv) != "" {
		time.Sleep(4 * time.Minute)
		return nil
	}
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
	if s.HangUnless != "" {
		if _, err := os.Stat(s.HangUnless); errors.Is(err, fs.ErrNotExist) {
			// A child that holds the output; the helper waits for it.
			child := exec.Command(exe)
			child.Env = append(os.Environ(), holdEnv+"=1")
			child.Stdout = os.Stdout
			if err := child.Start(); err != nil {
				return err
			}
			return child.Wait()
		}
	}
	time.Sleep(s.Sleep)
	_, err = os.Stdout.WriteString(s.Output)
	return err
}
