package main

import (
	"os"
	"path/filepath"
	"runtime"
)

// writeCredentialProcess writes a credential_process helper that prints
// doc, as <dir>/<name>.json and a script beside it that prints that file,
// and returns the script's path for credential_process. The SDK runs the
// command with sh -c, or with cmd.exe /C on Windows: the script is a POSIX
// shell script there (cat) and a batch file here (type), each naming the
// JSON file relative to itself, so that no path is quoted into it.
func writeCredentialProcess(dir, name, doc string) (string, error) {
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(doc), 0o600); err != nil {
		return "", err
	}
	script, body := filepath.Join(dir, name+".sh"), "#!/bin/sh\nexec cat \"$(dirname \"$0\")/"+name+".json\"\n"
	if runtime.GOOS == "windows" {
		// %~dp0 is the batch file's own directory, with a trailing \.
		script, body = filepath.Join(dir, name+".cmd"), "@type \"%~dp0"+name+".json\"\r\n"
	}
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		return "", err
	}
	return script, nil
}
