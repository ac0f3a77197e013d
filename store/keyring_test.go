package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zalando/go-keyring"
)

// realKeyringEnv, when set, runs the conformance suite against this
// machine's OS keyring (under a throwaway service name) instead of
// go-keyring's mock: go-keyring's mock replaces its provider for the whole
// process, so the two cannot run in one test binary.
const realKeyringEnv = "CREDD_TEST_REAL_KEYRING"

func TestKeyringMock(t *testing.T) {
	if os.Getenv(realKeyringEnv) != "" {
		t.Skip(realKeyringEnv + " is set: the OS keyring is tested instead")
	}
	keyring.MockInit()
	testStore(t, func(t *testing.T) Store {
		t.Helper()
		k := newKeyring("credd-test-"+randomHex(t), osKeyring{})
		if err := k.Probe(context.Background()); err != nil {
			t.Fatalf("probing go-keyring's mock: %v", err)
		}
		return k
	})
}

func TestKeyringReal(t *testing.T) {
	if os.Getenv(realKeyringEnv) == "" {
		t.Skip("set " + realKeyringEnv + "=1 to test against the OS keyring (" + Backend() + ")")
	}
	ctx := context.Background()
	if err := probe(ctx, newKeyring("credd-test-probe", osKeyring{}), ProbeTimeout); err != nil {
		t.Skipf("no keyring here: %v", err)
	}
	if s, err := Open(ctx, KindAuto, t.TempDir(), nil); err != nil || s.Kind() != KindKeyring {
		t.Fatalf("Open(auto) where a keyring answers = %v, %v; want the keyring", s, err)
	}
	testStore(t, func(t *testing.T) Store {
		t.Helper()
		k := newKeyring("credd-test-"+randomHex(t), osKeyring{})
		t.Cleanup(func() {
			keys, _ := k.List(ctx)
			for _, key := range keys {
				_ = k.Delete(ctx, key)
			}
			_ = keyring.DeleteAll(k.service)
		})
		return k
	})
}

// TestKeyringLimits runs the conformance suite on fakes that refuse items
// as large as Windows Credential Manager and go-keyring's macOS backend
// refuse them: the chunking must keep every item under both limits.
func TestKeyringLimits(t *testing.T) {
	for _, limit := range []string{"windows", "darwin"} {
		t.Run(limit, func(t *testing.T) {
			testStore(t, func(t *testing.T) Store {
				return newKeyring(KeyringService, &fakeKeyring{limit: limit})
			})
		})
	}
}

func TestKeyringChunksLargeValues(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		size      int
		wantItems int // value items, the index excluded
	}{
		{"inline", 1000, 1},
		{"largest inline", (itemMax - len(inlinePrefix)) / 4 * 3, 1},
		{"smallest chunked", (itemMax-len(inlinePrefix))/4*3 + 3, 2},
		{"many chunks", 40 << 10, 1 + (base64.StdEncoding.EncodedLen(40<<10)+itemMax-1)/itemMax},
		{"largest", MaxKeyringValue, 1 + maxChunks},
	}
	if n := (base64.StdEncoding.EncodedLen(MaxKeyringValue) + itemMax - 1) / itemMax; n != maxChunks {
		t.Fatalf("maxChunks = %d, but the largest value takes %d chunks", maxChunks, n)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fk := &fakeKeyring{limit: "windows"}
			k := newKeyring(KeyringService, fk)
			v := randomBytes(t, tc.size)
			mustPut(t, k, "sso/corp", v)
			wantGet(t, k, "sso/corp", v)
			if got := fk.count("sso%2Fcorp"); got != tc.wantItems {
				t.Errorf("%d items hold the value, want %d: %v", got, tc.wantItems, fk.names())
			}
			if fk.maxSet > itemMax {
				t.Errorf("largest item %d bytes, limit %d", fk.maxSet, itemMax)
			}
			// Overwriting switches chunk generation and drops the old one;
			// deleting leaves nothing but the (empty) index.
			mustPut(t, k, "sso/corp", randomBytes(t, tc.size))
			if got := fk.count("sso%2Fcorp"); got != tc.wantItems {
				t.Errorf("after overwrite %d items hold the value, want %d: %v", got, tc.wantItems, fk.names())
			}
			if err := k.Delete(ctx, "sso/corp"); err != nil {
				t.Fatal(err)
			}
			if names := fk.names(); len(names) != 1 || names[0] != indexItem {
				t.Errorf("after delete the keyring holds %v, want only the index", names)
			}
		})
	}
}

func TestKeyringTooLarge(t *testing.T) {
	k := newKeyring(KeyringService, &fakeKeyring{limit: "windows"})
	err := k.Put(context.Background(), "sso/corp", make([]byte, MaxKeyringValue+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "session_store: file") {
		t.Fatalf("Put(too large) = %v, want ErrTooLarge saying what to do", err)
	}
	wantList(t, k)
}

// TestKeyringInterruptedPut fails every keyring write of a Put in turn, as
// a crash or a keyring error would stop it there, and checks the previous
// value is still the one read.
func TestKeyringInterruptedPut(t *testing.T) {
	ctx := context.Background()
	small, large := []byte("previous small value"), bytes.Repeat([]byte("previous large "), 1000)
	cases := []struct {
		name          string
		before, after []byte
	}{
		{"small over small", small, []byte("new small value")},
		{"large over small", small, bytes.Repeat([]byte("new large "), 1000)},
		{"small over large", large, []byte("new small value")},
		{"large over large", large, bytes.Repeat([]byte("new large "), 1000)},
		{"large over interrupted large", large, bytes.Repeat([]byte("new large "), 2000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for failAt := 1; ; failAt++ {
				fk := &fakeKeyring{limit: "windows"}
				k := newKeyring(KeyringService, fk)
				mustPut(t, k, "sso/corp", tc.before)
				if tc.name == "large over interrupted large" {
					// A leftover of an earlier failed write in the other generation.
					fk.sets, fk.failSetAt = 0, 3
					_ = k.Put(ctx, "sso/corp", bytes.Repeat([]byte("lost"), 5000))
					wantGet(t, k, "sso/corp", tc.before)
				}
				fk.sets, fk.failSetAt = 0, failAt
				err := k.Put(ctx, "sso/corp", tc.after)
				fk.failSetAt = 0
				if err == nil {
					wantGet(t, k, "sso/corp", tc.after) // every write done: new value
					if failAt < 2 {
						t.Fatal("no write was interrupted")
					}
					return
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("Put = %v, want the injected failure", err)
				}
				wantGet(t, k, "sso/corp", tc.before)
				wantList(t, k, "sso/corp")
			}
		})
	}
}

func TestKeyringDamagedEntries(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		damage func(fk *fakeKeyring)
	}{
		{"unknown format", func(fk *fakeKeyring) { fk.set("sso%2Fbad", "garbage") }},
		{"bad base64", func(fk *fakeKeyring) { fk.set("sso%2Fbad", inlinePrefix+"!!!") }},
		{"bad manifest", func(fk *fakeKeyring) { fk.set("sso%2Fbad", chunkedPrefix+"c:1:00") }},
		{"missing chunk", func(fk *fakeKeyring) { fk.del("sso%2Fbad#a.1") }},
		{"checksum mismatch", func(fk *fakeKeyring) {
			fk.set("sso%2Fbad#a.0", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("y"), itemMax/4*3)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fk := &fakeKeyring{}
			k := newKeyring(KeyringService, fk)
			mustPut(t, k, "sso/good", []byte("good"))
			mustPut(t, k, "sso/bad", bytes.Repeat([]byte("x"), 5000))
			tc.damage(fk)
			_, err := k.Get(ctx, "sso/bad")
			if err == nil || errors.Is(err, ErrNotFound) || !errors.Is(err, errCorrupt) {
				t.Fatalf("Get(damaged) = %v, want a damaged-entry error", err)
			}
			got, problems := LoadAll(ctx, k)
			if len(got) != 1 || string(got["sso/good"]) != "good" {
				t.Errorf("LoadAll entries = %v, want sso/good alone", got)
			}
			if len(problems) != 1 || !strings.Contains(problems[0].Error(), `"sso/bad"`) {
				t.Errorf("LoadAll problems = %v, want one naming sso/bad", problems)
			}
			// Writing the key again repairs it.
			mustPut(t, k, "sso/bad", []byte("fixed"))
			wantGet(t, k, "sso/bad", []byte("fixed"))
		})
	}
}

func TestKeyringDamagedIndex(t *testing.T) {
	ctx := context.Background()
	fk := &fakeKeyring{}
	k := newKeyring(KeyringService, fk)
	mustPut(t, k, "sso/corp", []byte("x"))
	fk.set(indexItem, inlinePrefix+base64.StdEncoding.EncodeToString([]byte("{not json")))
	if _, err := k.List(ctx); err == nil {
		t.Fatal("List with a damaged index succeeded")
	}
	if _, problems := LoadAll(ctx, k); len(problems) != 1 {
		t.Fatalf("LoadAll problems = %v, want one", problems)
	}
	wantGet(t, k, "sso/corp", []byte("x")) // values stay readable by name
	mustPut(t, k, "sso/other", []byte("y"))
	wantList(t, k, "sso/other")
}

func TestKeyringErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("dbus: connection refused")
	k := newKeyring(KeyringService, &fakeKeyring{err: boom})
	if _, err := k.Get(ctx, "sso/corp"); !errors.Is(err, boom) || errors.Is(err, ErrNotFound) {
		t.Errorf("Get = %v, want the keyring's error", err)
	}
	if err := k.Put(ctx, "sso/corp", []byte("x")); !errors.Is(err, boom) {
		t.Errorf("Put = %v, want the keyring's error", err)
	}
	if _, err := k.List(ctx); !errors.Is(err, boom) {
		t.Errorf("List = %v, want the keyring's error", err)
	}
	if err := k.Delete(ctx, "sso/corp"); !errors.Is(err, boom) {
		t.Errorf("Delete = %v, want the keyring's error", err)
	}
}

// TestKeyringHang: a keyring that never answers (a stuck D-Bus service)
// does not hold callers past their contexts, later calls wait their turn
// rather than pile onto the stuck one, and the store works again once the
// keyring answers.
func TestKeyringHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fk := &fakeKeyring{block: make(chan struct{})}
		k := newKeyring(KeyringService, fk)

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := k.Get(ctx, "sso/corp")
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), Backend()+" did not answer") {
			t.Fatalf("Get on a stuck keyring = %v, want a deadline error naming the keyring", err)
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		if err := k.Put(ctx2, "sso/corp", []byte("x")); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for an earlier keyring call") {
			t.Fatalf("Put behind a stuck call = %v, want it to wait its turn until its deadline", err)
		}

		close(fk.block) // the keyring answers at last
		synctest.Wait()
		mustPut(t, k, "sso/corp", []byte("x"))
		wantGet(t, k, "sso/corp", []byte("x"))
	})
}

var errInjected = errors.New("injected keyring failure")

// fakeKeyring is an in-memory keyring that can refuse items as large as a
// real OS keyring refuses them, fail a chosen write, fail everything, or
// block every call.
type fakeKeyring struct {
	mu        sync.Mutex
	items     map[string]string // by user name; one service per fake
	limit     string            // "", "windows" or "darwin"
	failSetAt int               // fail the n-th Set, counting from 1; 0: never
	sets      int
	maxSet    int
	err       error         // returned by every call
	block     chan struct{} // every call waits for it to close
}

func (f *fakeKeyring) wait() error {
	if f.block != nil {
		<-f.block
	}
	return f.err
}

func (f *fakeKeyring) Set(service, user, password string) error {
	if err := f.wait(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets++
	if f.failSetAt > 0 && f.sets == f.failSetAt {
		return errInjected
	}
	switch f.limit {
	case "windows": // go-keyring's keyring_windows.go
		if len(password) > 2560 || len(service) >= 512 {
			return keyring.ErrSetDataTooBig
		}
	case "darwin": // go-keyring's keyring_darwin.go, quoting every argument
		enc := "go-keyring-base64:" + base64.StdEncoding.EncodeToString([]byte(password))
		if len(fmt.Sprintf("add-generic-password -U -s '%s' -a '%s' -w '%s'\n", service, user, enc)) > 4096 {
			return keyring.ErrSetDataTooBig
		}
	}
	f.maxSet = max(f.maxSet, len(password))
	f.setLocked(user, password)
	return nil
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	if err := f.wait(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	if err := f.wait(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[user]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.items, user)
	return nil
}

func (f *fakeKeyring) setLocked(user, password string) {
	if f.items == nil {
		f.items = make(map[string]string)
	}
	f.items[user] = password
}

func (f *fakeKeyring) set(user, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(user, password)
}

func (f *fakeKeyring) del(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, user)
}

func (f *fakeKeyring) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.items))
}

// count returns how many items belong to the escaped key name.
func (f *fakeKeyring) count(name string) int {
	n := 0
	for _, item := range f.names() {
		if item == name || strings.HasPrefix(item, name+"#") {
			n++
		}
	}
	return n
}

func randomHex(t *testing.T) string {
	t.Helper()
	return hex.EncodeToString(randomBytes(t, 6))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
