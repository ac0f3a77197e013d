// Package docs_test checks docs/security.md against the code: every test
// it names as proof exists, and every threat of its table names one.
package docs_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// testName is a Go test, fuzz target or benchmark.
	testName = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*`)
	// slashed is a reference in prose: `pkg/path/TestName`.
	slashed = regexp.MustCompile("([a-z][a-z0-9]*(?:/[a-z][a-z0-9]*)*)/((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)")
	// fuzzRow is a row of the fuzzing tables: | pkg `FuzzX` | ...
	fuzzRow = regexp.MustCompile("^\\| ([a-z][a-z0-9/]*) `(Fuzz[A-Za-z0-9_]*)`")
)

// ref is a test that docs/security.md names, and where.
type ref struct {
	pkg, name string
	line      int
}

// TestSecurityDocNamesRealTests: every test docs/security.md cites exists
// in the package it names (a func of that name in one of its _test.go
// files, for any OS), and every row of the threats table cites at least
// one. A renamed or deleted test turns a claim into a promise; this
// catches it.
func TestSecurityDocNamesRealTests(t *testing.T) {
	refs, rows := securityRefs(t, "security.md")
	if len(refs) < 50 || rows < 20 {
		t.Fatalf("found %d references and %d threat rows: has the document's layout changed?", len(refs), rows)
	}
	t.Logf("%d references, %d threats", len(refs), rows)
	defined := map[string]map[string]bool{} // pkg -> test funcs
	for _, r := range refs {
		if defined[r.pkg] == nil {
			defined[r.pkg] = testFuncs(t, r.pkg)
		}
		if !defined[r.pkg][r.name] {
			t.Errorf("security.md:%d names %s: %s, which is not a test of that package", r.line, r.pkg, r.name)
		}
	}
}

// securityRefs reads the tests the document cites: in the threats table
// ("pkg: TestA, TestB (`case`); pkg2: TestC"), in prose (pkg/TestName)
// and in the fuzzing tables (pkg `FuzzX`). rows counts the threat rows.
func securityRefs(t *testing.T, path string) (refs []ref, rows int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inThreats := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inThreats = strings.HasPrefix(line, "## Threats")
		case inThreats && strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| Threat ") && !strings.HasPrefix(line, "|---"):
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			if len(cells) != 3 {
				t.Errorf("security.md:%d: a threat row of %d cells, want 3 (threat, defence, test)", n, len(cells))
				continue
			}
			rows++
			found := 0
			for _, part := range strings.Split(cells[2], "; ") {
				pkg, names, ok := strings.Cut(part, ": ")
				if !ok {
					continue
				}
				pkg = strings.TrimSpace(pkg)
				for _, name := range testName.FindAllString(names, -1) {
					refs = append(refs, ref{pkg, name, n})
					found++
				}
			}
			if found == 0 {
				t.Errorf("security.md:%d: the threat %q names no test (\"pkg: TestName\")", n, cells[0])
			}
			continue
		}
		for _, m := range slashed.FindAllStringSubmatch(line, -1) {
			if !strings.Contains(m[1], "testdata") { // a seed corpus's path
				refs = append(refs, ref{m[1], m[2], n})
			}
		}
		if m := fuzzRow.FindStringSubmatch(line); m != nil {
			refs = append(refs, ref{m[1], m[2], n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return refs, rows
}

// funcDecl is a top-level func, not a method.
var funcDecl = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)\(`)

// testFuncs lists the test funcs of the package in ../pkg.
func testFuncs(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", filepath.FromSlash(pkg), "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range funcDecl.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	return out
}
