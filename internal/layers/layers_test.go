package layers

import (
	"errors"
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/credd/credd"

// root is the module's directory, from this package's.
var root = filepath.Join("..", "..")

// deps lists the credd packages pkg depends on, directly or not, as
// its non-test files for goos import them.
func deps(t *testing.T, goos, pkg string) []string {
	t.Helper()
	ctx := build.Default
	ctx.GOOS = goos
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		bp, err := ctx.ImportDir(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(p, module+"/"))), 0)
		if err != nil {
			t.Fatalf("%s for %s: %v", p, goos, err)
		}
		for _, imp := range bp.Imports {
			if strings.HasPrefix(imp, module+"/") && !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(module + "/" + pkg)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, strings.TrimPrefix(p, module+"/"))
	}
	slices.Sort(out)
	return out
}

// TestCoreDependsOnClockAndCred: the renewal engine and the endpoints
// SDKs call stay free of the rest of credd, so that nothing the daemon
// wires (the audit log's rotation, the config, the sign-ins) reaches
// them. imds logs no refusal itself (the daemon folds them in its log),
// so it needs no fold either.
func TestCoreDependsOnClockAndCred(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, tc := range []struct {
			pkg   string
			allow []string
		}{
			{"refresh", []string{"clock", "cred"}},
			{"imds", []string{"clock", "cred"}},
			{"clock", nil},
			{"cred", nil},
			{"fold", nil},
		} {
			t.Run(goos+"/"+tc.pkg, func(t *testing.T) {
				for _, d := range deps(t, goos, tc.pkg) {
					if !slices.Contains(tc.allow, d) {
						t.Errorf("%s depends on %s; it may depend on %q only", tc.pkg, d, tc.allow)
					}
				}
			})
		}
	}
}

// TestNothingImportsCmd: commands are the top; no package imports one
// (tests may run the CLI in process).
func TestNothingImportsCmd(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		ctx := build.Default
		ctx.GOOS = goos
		n := 0
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); rel == "cmd" || strings.HasPrefix(rel, "cmd/") {
				return nil
			}
			bp, err := ctx.ImportDir(path, 0)
			var none *build.NoGoError
			if errors.As(err, &none) {
				return nil
			}
			if err != nil {
				return err
			}
			n++
			for _, imp := range bp.Imports {
				if strings.HasPrefix(imp, module+"/cmd/") {
					t.Errorf("%s (%s) imports %s", rel, goos, imp)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 20 {
			t.Fatalf("%s: %d packages read, want credd's (more than 20)", goos, n)
		}
	}
}
