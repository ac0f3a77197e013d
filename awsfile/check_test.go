package awsfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// continued is a profile whose key k goes on for n continuation lines.
func continued(n int) string {
	return "[profile p]\nk = v\n" + strings.Repeat("  more\n", n) + "region = eu-west-1\n"
}

// TestContentIsChecked: what no editor or AWS tool writes, and what the
// AWS SDK's parser cannot afford, is refused with the line at fault; the
// same shape within the limits is read.
func TestContentIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       string // in the error; "" for none
	}{
		{"plain", "[profile p]\nregion = eu-west-1\n", ""},
		{"NUL", "[profile p]\nregion = eu-west-1\ncredential_process = x\x00y\n", "NUL byte on line 3"},
		{"all NUL, as after a crash", strings.Repeat("\x00", 4096), "NUL byte on line 1"},
		{"lines at the limit", "[profile p]\n" + strings.Repeat("\n", MaxLines-2), ""},
		{"too many lines", "[profile p]\n" + strings.Repeat("\n", MaxLines), "more than 100000 lines"},
		{"continuations at the limit", continued(MaxContinuations), ""},
		{"too many continuations", continued(MaxContinuations + 1), "line 19: the value of k (line 2) goes on for more than 16 lines"},
		{"continuations of two keys", "[profile p]\na = 1\n" + strings.Repeat(" x\n", MaxContinuations) + "b = 2\n" + strings.Repeat(" y\n", MaxContinuations), ""},
		{"a huge line", "[profile p]\nregion = " + strings.Repeat("x", MaxSize-30) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(path, Config)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				if f.Profile("p") == nil {
					t.Error("profile p not read")
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("ReadFile = %v; want a refusal naming %s and saying %q", err, path, tc.want)
			}
			if err := Check(path); !errors.Is(err, ErrRefused) {
				t.Errorf("Check = %v, want the refusal of ReadFile", err)
			}
		})
	}
}

// TestSizeIsChecked: a file larger than MaxSize is refused by its size,
// before it is read (a sparse file here).
func TestSizeIsChecked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("[p]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path, Credentials); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, MaxSize+1); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, Credentials)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "is 4194305 bytes, more than the 4194304 (4 MiB) credd reads") {
		t.Fatalf("ReadFile of a %d-byte file: %v", MaxSize+1, err)
	}
	if _, err := Read(Paths{Config: filepath.Join(t.TempDir(), "none"), Credentials: path}); !errors.Is(err, ErrRefused) {
		t.Errorf("Read with the large credentials file: %v, want the refusal", err)
	}
}

func TestDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadFile(dir, Config)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "is not a regular file (a directory)") {
		t.Fatalf("ReadFile of a directory: %v", err)
	}
}

// TestMissingFileIsNoRefusal: a missing file is fs.ErrNotExist, for Read
// an empty file.
func TestMissingFileIsNoRefusal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := Check(path); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrRefused) {
		t.Errorf("Check of a missing file: %v", err)
	}
}

// TestParseIsLinear: a value continued over many lines is joined once,
// not copied once per line (20,000 lines cost 400 MB that way). Parse
// takes any input (the limits are ReadFile's), so it must stay linear.
func TestParseIsLinear(t *testing.T) {
	data := []byte("[p]\nk = v\n" + strings.Repeat("  x\n", 20000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f := Parse(data, Credentials)
	runtime.ReadMemStats(&after)
	if got := f.Profile("p").Value("k"); len(got) != 1+20000*2 || !strings.HasPrefix(got, "v\nx\nx") {
		t.Fatalf("k = %.20q... (%d bytes)", got, len(got))
	}
	if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(100*len(data)); alloc > limit {
		t.Errorf("Parse of %d bytes allocated %d bytes, more than %d", len(data), alloc, limit)
	}
}

// TestLimitsKeepTheSDKAffordable: the AWS SDK reads the files after
// credd; for the shapes its parser pays most for, at credd's limits, it
// allocates at most about 100 MB (so each is accepted by credd and
// affordable), and one step over a limit is refused.
func TestLimitsKeepTheSDKAffordable(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates hundreds of MB")
	}
	long := " " + strings.Repeat("x", 8000) + "\n"
	var cont strings.Builder
	cont.WriteString("[profile p]\n")
	for cont.Len() < MaxSize-(MaxContinuations+1)*len(long) {
		cont.WriteString("k=v\n" + strings.Repeat(long, MaxContinuations))
	}
	for _, tc := range []struct {
		name, data, over string
	}{
		{"one key repeated", "[profile p]\n" + strings.Repeat("a=1\n", MaxLines-2), "[profile p]\n" + strings.Repeat("a=1\n", MaxLines)},
		{"sections", strings.Repeat("[profile p]\n", MaxLines-1), strings.Repeat("[profile p]\n", MaxLines)},
		{"long continued values", cont.String(), cont.String() + "k=v\n" + strings.Repeat(long, MaxContinuations+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, over := filepath.Join(dir, "config"), filepath.Join(dir, "over")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(over, []byte(tc.over), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := Check(path); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if err := Check(over); !errors.Is(err, ErrRefused) {
				t.Errorf("over the limit: %v, want a refusal", err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := awsconfig.LoadSharedConfigProfile(t.Context(), "p", func(o *awsconfig.LoadSharedConfigOptions) {
				o.ConfigFiles, o.CredentialsFiles = []string{path}, []string{}
			})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("the SDK: %v", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("the SDK allocated %d MB for %d bytes", alloc>>20, len(tc.data))
			if alloc > 160<<20 {
				t.Errorf("the SDK allocated %d MB for a file within credd's limits", alloc>>20)
			}
		})
	}
}

// BenchmarkCheck5000 checks a credentials file of 5,000 profiles, as every
// load of a profile's SDK configuration does.
func BenchmarkCheck5000(b *testing.B) {
	var creds strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&creds, "[k%d]\naws_access_key_id = AKIA%016d\naws_secret_access_key = secret%d\n", i, i, i)
	}
	path := filepath.Join(b.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(creds.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(path); err != nil {
			b.Fatal(err)
		}
	}
}
