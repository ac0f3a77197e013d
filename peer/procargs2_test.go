package peer

import (
	"encoding/binary"
	"slices"
	"testing"
)

func procargs(argc uint32, rest string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, argc)
	return append(b, rest...)
}

func TestParseProcargs2(t *testing.T) {
	for _, tc := range []struct {
		name    string
		buf     []byte
		exe     string
		args    []string
		wantErr bool
	}{
		{"padded", procargs(3, "/usr/local/bin/aws\x00\x00\x00\x00aws\x00s3\x00ls\x00HOME=/Users/a\x00"), "/usr/local/bin/aws", []string{"aws", "s3", "ls"}, false},
		{"no padding", procargs(1, "/bin/sh\x00sh\x00"), "/bin/sh", []string{"sh"}, false},
		{"argc beyond data", procargs(4, "/bin/sh\x00sh\x00-c"), "/bin/sh", []string{"sh", "-c"}, false},
		{"too short", []byte{1, 0}, "", nil, true},
		{"no path end", procargs(1, "/bin/sh"), "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exe, args, err := parseProcargs2(tc.buf)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if exe != tc.exe || !slices.Equal(args, tc.args) {
				t.Errorf("got %q %q, want %q %q", exe, args, tc.exe, tc.args)
			}
		})
	}
}
