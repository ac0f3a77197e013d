package mfa

import (
	"errors"
	"strings"
	"testing"
)

// The commands run under /bin/sh and cmd.exe alike.
func TestProcessCode(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		want          string
		wantErr       []string // parts of the error
		notInErr      string
	}{
		{"prints the code", "echo 123456", "123456", nil, ""},
		{"spaces around it", "echo   654321  ", "654321", nil, ""},
		{"prints something else", "echo not-the-code", "", []string{`mfa_process "echo not-the-code" printed no MFA code`, "6 digits", "got 12 characters"}, "not-the-code\n"},
		{"prints too many digits", "echo 1234567", "", []string{"printed no MFA code"}, ""},
		{"fails", "echo the key is not plugged in 1>&2 && exit 3", "", []string{"failed (exit status 3): the key is not plugged in"}, ""},
		{"no such command", "credd-no-such-command-xyz", "", []string{`mfa_process "credd-no-such-command-xyz" failed`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Process{Command: tc.command}.Code(t.Context())
			if got != tc.want {
				t.Errorf("code %q, want %q", got, tc.want)
			}
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.notInErr != "" && strings.Contains(err.Error(), tc.notInErr) {
				t.Errorf("error %q repeats the output", err)
			}
		})
	}
}

func TestProcessOutputThatIsNotACodeIsBadCode(t *testing.T) {
	_, err := Process{Command: "echo 12"}.Code(t.Context())
	if !errors.Is(err, ErrBadCode) {
		t.Errorf("err = %v, want ErrBadCode", err)
	}
}
