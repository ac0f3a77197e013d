//go:build unix

package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/awsfile"
)

// TestAWSProfileChecksTheFilesFirst: the AWS SDK reads the shared files
// for every refresh; before it does, the files are checked (awsfile.Check),
// so one that group or others may write now, the config file or the
// credentials file, with or without a view, runs no credential_process:
// the refresh fails naming the file. Made private again, it runs.
func TestAWSProfileChecksTheFilesFirst(t *testing.T) {
	for _, tc := range []struct {
		name     string
		view     bool
		loosened string // "config" or "credentials"
	}{
		{"config", false, "config"},
		{"credentials", false, "credentials"},
		{"credentials, with a view of the config", true, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ran := filepath.Join(dir, "ran")
			helper := filepath.Join(dir, "helper.sh")
			doc := `{"Version":1,"AccessKeyId":"ASIACHECKED","SecretAccessKey":"s","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z"}`
			if err := os.WriteFile(helper, []byte("#!/bin/sh\necho x >> "+ran+"\necho '"+doc+"'\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
			if err := os.WriteFile(cfg, []byte("[profile dev]\ncredential_process = "+helper+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(creds, []byte("[other]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			p := &AWSProfile{Name: "dev", ConfigFiles: []string{cfg}, CredentialFiles: []string{creds}}
			if tc.view {
				p.View = ReadSharedFiles([]string{cfg}, []string{creds}).View("dev")
			}
			loose := filepath.Join(dir, tc.loosened)
			if err := os.Chmod(loose, 0o666); err != nil {
				t.Fatal(err)
			}
			_, err := p.Retrieve(context.Background())
			if !errors.Is(err, awsfile.ErrRefused) || !strings.Contains(err.Error(), loose+": it is writable by group or others") {
				t.Fatalf("Retrieve with %s at 0666: %v, want the refusal naming it", tc.loosened, err)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Fatal("the credential_process ran")
			}
			if err := os.Chmod(loose, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := p.Retrieve(context.Background())
			if err != nil || c.AccessKeyID != "ASIACHECKED" {
				t.Fatalf("Retrieve with private files: %v, %v", c.AccessKeyID, err)
			}
		})
	}
}
