package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/credd/credd/internal/peertest"
	"github.com/credd/credd/peer"
)

// createWithSDDL creates path with the DACL sddl (%s: this user's SID).
func createWithSDDL(t *testing.T, path, sddl string) {
	t.Helper()
	me, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString(fmt.Sprintf(sddl, me))
	if err != nil {
		t.Fatal(err)
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := windows.Write(h, []byte(strings.Repeat("a", 64))); err != nil {
		t.Fatal(err)
	}
	windows.CloseHandle(h)
}

// TestCheckPrivateReadsTheDACL: on Windows, a file whose DACL lets another
// account (here Everyone) change it is refused, naming the account and an
// icacls command; one that others may only read is accepted, as Unix
// accepts a 0644 file.
func TestCheckPrivateReadsTheDACL(t *testing.T) {
	// Wine keeps a Unix mode instead of a DACL and describes it with no
	// write right for Everyone whatever the mode (measured: a file
	// created with (A;;FA;;;WD) reads back with Everyone's read and
	// execute only), so a file others may change cannot be made there.
	// The filtering itself is private's TestOtherWriters.
	wine := peertest.Wine()
	const wineSkip = "wine: a DACL read back never grants Everyone a write right (wine derives it from the Unix mode)"
	dir := t.TempDir()
	for _, tc := range []struct {
		name, sddl string
		refused    bool
	}{
		{"the user alone", "D:P(A;;FA;;;%s)", false},
		{"everyone may read", "D:P(A;;FA;;;%s)(A;;FR;;;WD)", false},
		{"everyone may write", "D:P(A;;FA;;;%s)(A;;FA;;;WD)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.refused && wine {
				t.Skip(wineSkip)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			createWithSDDL(t, path, tc.sddl)
			err := CheckPrivate(path)
			if !tc.refused {
				if err != nil {
					t.Errorf("CheckPrivate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "S-1-1-0") || !strings.Contains(err.Error(), "icacls") {
				t.Errorf("CheckPrivate = %v, want ErrInsecureFile naming the file, Everyone (S-1-1-0) and icacls", err)
			}
		})
	}

	// The daemon's own token passes; one others may change is refused.
	state := filepath.Join(dir, "state")
	if _, _, err := EnsureToken(state); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureToken(state); err != nil {
		t.Errorf("EnsureToken of the token it made: %v", err)
	}
	t.Run("a token others may change", func(t *testing.T) {
		if wine {
			t.Skip(wineSkip)
		}
		other := filepath.Join(dir, "state2")
		if err := os.Mkdir(other, 0o700); err != nil {
			t.Fatal(err)
		}
		createWithSDDL(t, filepath.Join(other, TokenFile), "D:P(A;;FA;;;%s)(A;;FA;;;WD)")
		if _, _, err := EnsureToken(other); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("EnsureToken of a token Everyone may change: %v, want ErrInsecureFile", err)
		}
	})
}
