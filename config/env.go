package config

import (
	"sort"
	"strings"
)

// otherEnv are the CREDD_* variables that are not configuration keys: the
// config file's location, and what CI, packaging and tests read. They are
// known, so never reported as unknown.
var otherEnv = []string{
	"CREDD_CONFIG",
	"CREDD_REQUIRE_PEERS", "CREDD_MINIO_BIN", "CREDD_CI_CACHE", "CREDD_GORELEASER_BIN", "CREDD_CONTAINER_TEST", // CI and e2e
	"CREDD_TEST_REAL_KEYRING", "CREDD_STORE_CRASH_CHILD_DIR", "CREDD_CREDPROC_BIN", "CREDD_E2E_BIN", // tests
	"CREDD_VERSION", "CREDD_DIST", "CREDD_FEATURE_PROFILE", // packaging
}

// EnvName is the variable that sets a configuration key: CREDD_<KEY>, dots
// as underscores.
func EnvName(key string) string {
	return "CREDD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// knownEnv lists every CREDD_* variable credd knows.
func knownEnv() []string {
	names := append([]string(nil), otherEnv...)
	for _, k := range EnvKeys {
		names = append(names, EnvName(k))
	}
	sort.Strings(names)
	return names
}

// UnknownVar is a CREDD_* variable credd does not know, and the known one
// closest to it (a typo of it, most likely).
type UnknownVar struct{ Name, Closest string }

// UnknownEnv lists, sorted, the CREDD_* variables of environ that credd
// does not know: a typo such as CREDD_LISTN would otherwise be ignored
// without a word. Only names are looked at, never values.
func UnknownEnv(environ []string) []UnknownVar {
	known := knownEnv()
	var out []UnknownVar
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CREDD_") {
			continue
		}
		if i := sort.SearchStrings(known, name); i < len(known) && known[i] == name {
			continue
		}
		best, bestDist := "", -1
		for _, k := range known {
			if d := editDistance(name, k); bestDist < 0 || d < bestDist {
				best, bestDist = k, d
			}
		}
		out = append(out, UnknownVar{Name: name, Closest: best})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
