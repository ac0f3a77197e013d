package source

import (
	"bufio"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
)

// SharedProfiles lists the profile names of the shared AWS config and
// credentials files (section headers only: resolving a profile is the SDK's
// work). Missing files are skipped.
func SharedProfiles(configFile, credentialsFile string) ([]string, error) {
	seen := map[string]bool{}
	for _, f := range []struct {
		path   string
		config bool
	}{{configFile, true}, {credentialsFile, false}} {
		if f.path == "" {
			continue
		}
		names, err := sectionNames(f.path, f.config)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

func sectionNames(path string, config bool) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
			continue
		}
		sec := strings.TrimSpace(line[1 : len(line)-1])
		switch {
		case !config:
			names = append(names, sec)
		case sec == "default":
			names = append(names, sec)
		case strings.HasPrefix(sec, "profile ") || strings.HasPrefix(sec, "profile\t"):
			names = append(names, strings.TrimSpace(sec[len("profile "):]))
		}
	}
	return names, sc.Err()
}
