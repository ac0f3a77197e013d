package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testStore runs the behaviour every Store must share against stores made
// by newStore (a fresh, empty one per case).
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	ctx := context.Background()
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	large := bytes.Repeat([]byte(`{"refreshToken":"0123456789abcdef"}`), 1200) // ~41 KiB: chunked in a keyring

	cases := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"put then get", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", []byte(`{"a":1}`))
			wantGet(t, s, "sso/corp", []byte(`{"a":1}`))
		}},
		{"overwrite", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", []byte("first"))
			mustPut(t, s, "sso/corp", []byte("second"))
			wantGet(t, s, "sso/corp", []byte("second"))
			wantList(t, s, "sso/corp")
		}},
		{"overwrite between small and large values", func(t *testing.T, s Store) {
			for i, v := range [][]byte{[]byte("small"), large, append([]byte("other "), large...), []byte("small again"), large} {
				mustPut(t, s, "oidc/okta", v)
				if got := mustGet(t, s, "oidc/okta"); !bytes.Equal(got, v) {
					t.Fatalf("write %d: read back %d bytes, want %d", i, len(got), len(v))
				}
			}
		}},
		{"get missing is ErrNotFound", func(t *testing.T, s Store) {
			_, err := s.Get(ctx, "sso/none")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), "sso/none") {
				t.Errorf("error %q does not name the key", err)
			}
		}},
		{"delete", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", []byte("x"))
			mustPut(t, s, "sso/other", large)
			if err := s.Delete(ctx, "sso/corp"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "sso/other"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "sso/corp"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
			if _, err := s.Get(ctx, "sso/other"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
			wantList(t, s)
		}},
		{"delete missing is not an error", func(t *testing.T, s Store) {
			if err := s.Delete(ctx, "sso/none"); err != nil {
				t.Fatalf("Delete(missing) = %v", err)
			}
		}},
		{"list sorted", func(t *testing.T, s Store) {
			wantList(t, s)
			for _, k := range []string{"sso/corp", "oidc/okta", "a", "sso/a.b_c-d@e+f"} {
				mustPut(t, s, k, []byte(k))
			}
			wantList(t, s, "a", "oidc/okta", "sso/a.b_c-d@e+f", "sso/corp")
		}},
		{"empty value", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", nil)
			wantGet(t, s, "sso/corp", []byte{})
		}},
		{"binary value", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", allBytes)
			wantGet(t, s, "sso/corp", allBytes)
		}},
		{"large value", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", large)
			wantGet(t, s, "sso/corp", large)
		}},
		{"keys differing only in case are distinct", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/Corp", []byte("upper"))
			mustPut(t, s, "sso/corp", []byte("lower"))
			wantGet(t, s, "sso/Corp", []byte("upper"))
			wantGet(t, s, "sso/corp", []byte("lower"))
			wantList(t, s, "sso/Corp", "sso/corp")
		}},
		{"names windows reserves", func(t *testing.T, s Store) {
			keys := []string{"con", "NUL", "com1.json", "lpt9", "aux/x"}
			for _, k := range keys {
				mustPut(t, s, k, []byte(k))
			}
			for _, k := range keys {
				wantGet(t, s, k, []byte(k))
			}
			wantList(t, s, "NUL", "aux/x", "com1.json", "con", "lpt9")
		}},
		{"values are copied", func(t *testing.T, s Store) {
			v := []byte("abc")
			mustPut(t, s, "sso/corp", v)
			v[0] = 'X'
			got := mustGet(t, s, "sso/corp")
			got[1] = 'Y'
			wantGet(t, s, "sso/corp", []byte("abc"))
		}},
		{"bad keys", func(t *testing.T, s Store) {
			for _, key := range badKeys {
				if err := s.Put(ctx, key, []byte("x")); !errors.Is(err, ErrBadKey) {
					t.Errorf("Put(%q) = %v, want ErrBadKey", key, err)
				}
				if _, err := s.Get(ctx, key); !errors.Is(err, ErrBadKey) {
					t.Errorf("Get(%q) = %v, want ErrBadKey", key, err)
				}
				if err := s.Delete(ctx, key); !errors.Is(err, ErrBadKey) {
					t.Errorf("Delete(%q) = %v, want ErrBadKey", key, err)
				}
			}
			wantList(t, s)
		}},
		{"canceled context", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", []byte("x"))
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Get(ctx, "sso/corp"); !errors.Is(err, context.Canceled) {
				t.Errorf("Get = %v, want context.Canceled", err)
			}
			if err := s.Put(ctx, "sso/corp", []byte("y")); !errors.Is(err, context.Canceled) {
				t.Errorf("Put = %v, want context.Canceled", err)
			}
			if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("List = %v, want context.Canceled", err)
			}
			wantGet(t, s, "sso/corp", []byte("x"))
		}},
		{"load all", func(t *testing.T, s Store) {
			mustPut(t, s, "sso/corp", []byte("1"))
			mustPut(t, s, "oidc/okta", large)
			got, problems := LoadAll(ctx, s)
			if len(problems) != 0 {
				t.Fatalf("problems: %v", problems)
			}
			if len(got) != 2 || string(got["sso/corp"]) != "1" || !bytes.Equal(got["oidc/okta"], large) {
				t.Fatalf("LoadAll = %d entries, want both", len(got))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

var badKeys = []string{
	"",
	"../etc/passwd",
	"sso/../../x",
	"sso/..",
	"sso/.",
	"./x",
	"/abs",
	"sso//corp",
	"sso/",
	".hidden",
	"_x",
	"__index__",
	"__probe__",
	`sso\corp`,
	"sso corp",
	"sso/co:rp",
	"sso/corp\x00",
	"sso/corp\n",
	"sso/cörp",
	"sso/%2F",
	"sso/corp#a.0",
	strings.Repeat("a", MaxKeyLen+1),
}

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return NewMemory() })
}

func TestFileConformance(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		t.Helper()
		s, err := NewFile(t.TempDir() + "/sessions")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestValidateKey(t *testing.T) {
	good := []string{"a", "sso/corp", "oidc/okta", "sso/Corp.Prod_1-x@y+z", "1", strings.Repeat("a", MaxKeyLen), "a/b/c", "sso/a..b"}
	for _, key := range good {
		if err := ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range badKeys {
		err := ValidateKey(key)
		if !errors.Is(err, ErrBadKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrBadKey", key, err)
		}
	}
}

func TestEscapeKey(t *testing.T) {
	cases := []struct {
		key, want string
	}{
		{"sso/corp", "sso%2Fcorp"},
		{"oidc/okta", "oidc%2Fokta"},
		{"sso/Corp", "sso%2F%43orp"},
		{"a.b_c-d", "a.b_c-d"},
		{"x@y+z", "x%40y%2Bz"},
		{"con", "%63on"},
		{"CON", "%43%4F%4E"},
		{"nul.json", "%6Eul.json"},
		{"com1", "%63om1"},
		{"lpt9.x", "%6Cpt9.x"},
		{"console", "console"},
		{"com10", "com10"},
		{"con/x", "con%2Fx"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			got := escapeKey(tc.key)
			if got != tc.want {
				t.Fatalf("escapeKey(%q) = %q, want %q", tc.key, got, tc.want)
			}
			back, ok := unescapeKey(got)
			if !ok || back != tc.key {
				t.Fatalf("unescapeKey(%q) = %q, %v; want %q", got, back, ok, tc.key)
			}
			if len(escapeKey(strings.Repeat("A", MaxKeyLen)))+len(entryExt) > 255 {
				t.Fatal("longest escaped key does not fit in a file name")
			}
		})
	}
	for _, name := range []string{"SSO%2Fcorp", "sso%2fcorp", "sso/corp", "con", "%", "%4", "%ZZ", "a%2F", "%2E%2E", "_index_", ""} {
		if key, ok := unescapeKey(name); ok {
			t.Errorf("unescapeKey(%q) = %q, want refusal", name, key)
		}
	}
}

func TestLoadAllListError(t *testing.T) {
	s := &failingStore{listErr: errors.New("boom")}
	got, problems := LoadAll(context.Background(), s)
	if len(got) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Error(), "boom") {
		t.Fatalf("LoadAll = %v, %v", got, problems)
	}
}

func TestLoadAllReportsPerKey(t *testing.T) {
	s := &failingStore{Memory: NewMemory(), getErr: map[string]error{"sso/bad": errors.New("unreadable")}}
	ctx := context.Background()
	for _, k := range []string{"sso/bad", "sso/good", "sso/gone"} {
		mustPut(t, s.Memory, k, []byte(k))
	}
	s.getErr["sso/gone"] = fmt.Errorf("vanished: %w", ErrNotFound)
	got, problems := LoadAll(ctx, s)
	if len(got) != 1 || string(got["sso/good"]) != "sso/good" {
		t.Errorf("entries = %v, want only sso/good", got)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), `"sso/bad"`) || !strings.Contains(problems[0].Error(), "unreadable") {
		t.Errorf("problems = %v, want one naming sso/bad", problems)
	}
}

// failingStore is a Memory whose List and Get fail as told.
type failingStore struct {
	*Memory
	listErr error
	getErr  map[string]error
}

func (s *failingStore) Kind() string { return "failing" }

func (s *failingStore) List(ctx context.Context) ([]string, error) {
	if s.listErr != nil {
		return nil, s.listErr
	}
	return s.Memory.List(ctx)
}

func (s *failingStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.getErr[key]; err != nil {
		return nil, err
	}
	return s.Memory.Get(ctx, key)
}

func mustPut(t *testing.T, s Store, key string, v []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, v); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key string) []byte {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func wantGet(t *testing.T, s Store, key string, want []byte) {
	t.Helper()
	got := mustGet(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, trim(got), trim(want))
	}
	if got == nil {
		t.Fatalf("Get(%q) = nil, want a non-nil slice", key)
	}
}

func wantList(t *testing.T, s Store, want ...string) {
	t.Helper()
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func trim(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
