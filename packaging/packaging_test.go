// Package packaging holds the release and package recipes (GoReleaser,
// nfpm, Homebrew, Scoop, the dev container feature) and the tests that keep
// them parseable and in step with each other and with the code.
package packaging

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/internal/peertest"
	"go.yaml.in/yaml/v3"
)

// requireTool finds a real peer tool (see internal/peertest).
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	return peertest.Tool(t, name, install)
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type nfpmContent struct {
	Src      string `yaml:"src"`
	Dst      string `yaml:"dst"`
	Packager string `yaml:"packager"`
}

type goreleaserConfig struct {
	Version int `yaml:"version"`
	Builds  []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Env     []string `yaml:"env"`
		GOOS    []string `yaml:"goos"`
		GOARCH  []string `yaml:"goarch"`
		LDFlags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		NameTemplate    string `yaml:"name_template"`
		FormatOverrides []struct {
			GOOS    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	NFPMs []struct {
		Formats  []string      `yaml:"formats"`
		Bindir   string        `yaml:"bindir"`
		Contents []nfpmContent `yaml:"contents"`
		Scripts  any           `yaml:"scripts"`
	} `yaml:"nfpms"`
}

func TestGoReleaserConfig(t *testing.T) {
	var c goreleaserConfig
	if err := yaml.Unmarshal(read(t, "goreleaser.yaml"), &c); err != nil {
		t.Fatalf("goreleaser.yaml: %v", err)
	}
	if c.Version != 2 || len(c.Builds) != 1 {
		t.Fatalf("want version 2 with one build: %+v", c)
	}
	b := c.Builds[0]
	var targets []string
	for _, goos := range b.GOOS {
		for _, arch := range b.GOARCH {
			targets = append(targets, goos+"/"+arch)
		}
	}
	slices.Sort(targets)
	if want := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}; !slices.Equal(targets, want) {
		t.Errorf("targets %v, want %v", targets, want)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") || b.Main != "./cmd/credd" {
		t.Errorf("build: %+v", b)
	}
	// The variables the ldflags stamp exist where they say.
	version := string(read(t, filepath.Join("..", "cmd", "credd", "cli", "version.go")))
	flags := strings.Join(b.LDFlags, " ")
	for _, v := range []string{"buildVersion", "buildCommit"} {
		if !strings.Contains(flags, "-X github.com/credd/credd/cmd/credd/cli."+v+"=") {
			t.Errorf("ldflags do not stamp cli.%s: %s", v, flags)
		}
		if !regexp.MustCompile(`(?m)^\s+` + v + `\s+= ""`).MatchString(version) {
			t.Errorf("cmd/credd/cli/version.go has no string variable %s", v)
		}
	}
	if len(c.Archives) != 1 || c.Archives[0].NameTemplate != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" {
		t.Errorf("archives: %+v (the Scoop manifest relies on the name)", c.Archives)
	}
	if c.Checksum.NameTemplate != "checksums.txt" {
		t.Errorf("checksum file %q (the Scoop manifest's autoupdate reads checksums.txt)", c.Checksum.NameTemplate)
	}
	if len(c.NFPMs) != 1 || !slices.Equal(c.NFPMs[0].Formats, []string{"deb", "rpm"}) || c.NFPMs[0].Bindir != "/usr/bin" {
		t.Fatalf("nfpms: %+v", c.NFPMs)
	}
	if c.NFPMs[0].Scripts != nil {
		t.Error("release packages have maintainer scripts: installing must start nothing")
	}
}

// goreleaserBinary finds GoReleaser: $CREDD_GORELEASER_BIN (scripts/test
// sets it to the CI cache's, which scripts/install-peers fills), then PATH.
func goreleaserBinary() (string, error) {
	if p := os.Getenv("CREDD_GORELEASER_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CREDD_GORELEASER_BIN: %w", err)
		}
		return p, nil
	}
	return exec.LookPath("goreleaser")
}

// The real GoReleaser accepts the release config, deprecations included.
// CI also makes a snapshot release with it (packaging/release-check.sh).
func TestGoReleaserCheck(t *testing.T) {
	gr, err := goreleaserBinary()
	peertest.Require(t, "goreleaser (scripts/install-peers, or go install github.com/goreleaser/goreleaser/v2@v2.16.0)", err)
	ctx, cancel := context.WithTimeout(t.Context(), 4*peertest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gr, "check", "--config", "packaging/goreleaser.yaml")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("goreleaser check: %v\n%s", err, out)
	}
}

// The CI packages (nfpm.yaml) and the release packages (goreleaser.yaml)
// install the same files.
func TestNFPMConfigsAgree(t *testing.T) {
	var standalone struct {
		Contents []nfpmContent `yaml:"contents"`
		Scripts  any           `yaml:"scripts"`
	}
	if err := yaml.Unmarshal(read(t, "nfpm.yaml"), &standalone); err != nil {
		t.Fatalf("nfpm.yaml: %v", err)
	}
	if standalone.Scripts != nil {
		t.Error("nfpm.yaml has maintainer scripts: installing must start nothing")
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(read(t, "goreleaser.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	// nfpm.yaml takes the binary and completions from ${CREDD_DIST}/;
	// GoReleaser adds the binary itself and generates completions/.
	norm := func(cs []nfpmContent, dist string) []string {
		var out []string
		for _, c := range cs {
			src := c.Src
			if dist == "completions/" {
				src = strings.Replace(src, dist, "DISTcompletions/", 1)
			} else {
				src = strings.Replace(src, dist, "DIST", 1)
			}
			out = append(out, src+" -> "+c.Dst+" "+c.Packager)
		}
		slices.Sort(out)
		return out
	}
	got := norm(standalone.Contents, "${CREDD_DIST}/")
	want := append(norm(c.NFPMs[0].Contents, "completions/"), "DISTcredd -> /usr/bin/credd ")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("nfpm.yaml contents:\n  %s\ngoreleaser.yaml nfpms contents (+ the binary in bindir):\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, c := range standalone.Contents {
		if !strings.Contains(c.Src, "$") && !strings.Contains(c.Src, "*") {
			if _, err := os.Stat(filepath.Join("..", c.Src)); err != nil {
				t.Errorf("package source %s: %v", c.Src, err)
			}
		}
	}
	if !slices.ContainsFunc(standalone.Contents, func(c nfpmContent) bool {
		return c.Dst == "/usr/lib/systemd/user/credd.service"
	}) {
		t.Error("the packages do not install the systemd user unit")
	}
}

func TestScoopManifest(t *testing.T) {
	var m struct {
		Version      string `json:"version"`
		Bin          string `json:"bin"`
		Architecture map[string]struct {
			URL  string `json:"url"`
			Hash string `json:"hash"`
		} `json:"architecture"`
		Checkver   map[string]string `json:"checkver"`
		Autoupdate struct {
			Architecture map[string]struct {
				URL string `json:"url"`
			} `json:"architecture"`
			Hash struct {
				URL string `json:"url"`
			} `json:"hash"`
		} `json:"autoupdate"`
	}
	if err := json.Unmarshal(read(t, filepath.Join("scoop", "credd.json")), &m); err != nil {
		t.Fatalf("scoop/credd.json: %v", err)
	}
	if m.Bin != "credd.exe" || m.Checkver["github"] == "" {
		t.Errorf("manifest: %+v", m)
	}
	archs := map[string]string{"64bit": "amd64", "arm64": "arm64"}
	for scoopArch, goArch := range archs {
		a, ok := m.Architecture[scoopArch]
		want := "/releases/download/v" + m.Version + "/credd_" + m.Version + "_windows_" + goArch + ".zip"
		if !ok || !strings.HasSuffix(a.URL, want) || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a.Hash) {
			t.Errorf("%s: %+v, want a URL ending %s and a sha256", scoopArch, a, want)
		}
		au := m.Autoupdate.Architecture[scoopArch].URL
		if au != strings.ReplaceAll(a.URL, m.Version, "$version") {
			t.Errorf("autoupdate %s URL %s does not follow %s", scoopArch, au, a.URL)
		}
	}
	if m.Autoupdate.Hash.URL != "$baseurl/checksums.txt" {
		t.Errorf("autoupdate hash: %q", m.Autoupdate.Hash.URL)
	}
}

func TestHomebrewFormula(t *testing.T) {
	formula := filepath.Join("homebrew", "credd.rb")
	src := string(read(t, formula))
	for _, w := range []string{
		"class Credd < Formula",
		"service do",
		`run [opt_bin/"credd", "serve"]`,
		"keep_alive true",
		"-X github.com/credd/credd/cmd/credd/cli.buildVersion=#{version}",
		`generate_completions_from_executable(bin/"credd", "completion")`,
	} {
		if !strings.Contains(src, w) {
			t.Errorf("formula lacks %q", w)
		}
	}
	ruby := requireTool(t, "ruby", "apt-get install ruby")
	if out, err := exec.Command(ruby, "-c", formula).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("ruby -c %s: %v\n%s", formula, err, out)
	}
}

func TestDevcontainerFeature(t *testing.T) {
	var f struct {
		ID          string `json:"id"`
		Version     string `json:"version"`
		Description string `json:"description"`
		Options     map[string]struct {
			Type        string `json:"type"`
			Default     string `json:"default"`
			Description string `json:"description"`
		} `json:"options"`
		ContainerEnv map[string]string `json:"containerEnv"`
	}
	if err := json.Unmarshal(read(t, filepath.Join("devcontainer", "devcontainer-feature.json")), &f); err != nil {
		t.Fatalf("devcontainer-feature.json: %v", err)
	}
	const endpoint = "http://host.docker.internal:9955/"
	if f.ID != "credd" || f.Version == "" || f.Options["endpoint"].Default != endpoint {
		t.Errorf("feature: %+v", f)
	}
	// containerEnv cannot be templated from options: it holds the one
	// endpoint that works everywhere (Docker Desktop, and Linux Docker
	// Engine with --add-host), and no container endpoint, which SDKs
	// refuse for a non-loopback host.
	wantEnv := map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": endpoint, "AWS_EC2_METADATA_V1_DISABLED": "true"}
	if !maps.Equal(f.ContainerEnv, wantEnv) {
		t.Errorf("containerEnv %v, want %v", f.ContainerEnv, wantEnv)
	}
	// Every place a user reads says how Linux Docker Engine works and that
	// the options reach login shells only.
	const addHost = "--add-host=host.docker.internal:host-gateway"
	for _, doc := range []struct{ name, text string }{
		{"feature description", f.Description},
		{"endpoint option", f.Options["endpoint"].Description},
		{"region option", f.Options["region"].Description},
		{"feature README", string(read(t, filepath.Join("devcontainer", "README.md")))},
		{"docs/install.md", string(read(t, filepath.Join("..", "docs", "install.md")))},
	} {
		want := []string{addHost, "extra_listen: [172.17.0.1:9955]", "allow_clients: [172.17.0.0/16]"}
		switch doc.name {
		case "endpoint option":
			want = []string{"Login shells only", addHost}
		case "region option":
			want = []string{"login shells"}
		case "feature README", "docs/install.md":
			want = append(want, `"runArgs": ["`+addHost+`"]`, "login shells only")
		}
		for _, w := range want {
			if !strings.Contains(doc.text, w) {
				t.Errorf("%s does not say %q", doc.name, w)
			}
		}
	}

	sh := requireTool(t, "sh", "a POSIX shell")
	loginOnly := []string{"login shells use http://172.17.0.1:9955/; every other process", "keeps " + endpoint + " from containerEnv", addHost}
	for _, tc := range []struct {
		name, endpoint, region string
		fail                   bool
		want                   []string
		says                   []string // in install.sh's output
	}{
		{"default endpoint", "", "", false, []string{"export AWS_EC2_METADATA_SERVICE_ENDPOINT='" + endpoint + "'", "AWS_EC2_METADATA_V1_DISABLED=true"}, nil},
		{"the trailing slash is added; another endpoint reaches login shells only, and says so", "http://172.17.0.1:9955", "", false,
			[]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT='http://172.17.0.1:9955/'"}, loginOnly},
		{"region", "", "eu-west-1", false, []string{"export AWS_REGION='eu-west-1'", "export AWS_DEFAULT_REGION='eu-west-1'"}, nil},
		{"not a URL", "host.docker.internal:9955", "", true, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			profile := filepath.Join(t.TempDir(), "credd.sh")
			cmd := exec.Command(sh, filepath.Join("devcontainer", "install.sh"))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CREDD_FEATURE_PROFILE=" + profile, "ENDPOINT=" + tc.endpoint, "REGION=" + tc.region}
			out, err := cmd.CombinedOutput()
			if tc.fail {
				if err == nil {
					t.Errorf("install.sh accepted %q: %s", tc.endpoint, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("install.sh: %v\n%s", err, out)
			}
			for _, w := range tc.says {
				if !strings.Contains(string(out), w) {
					t.Errorf("install.sh does not say %q:\n%s", w, out)
				}
			}
			if tc.says == nil && strings.Contains(string(out), "login shells") {
				t.Errorf("install.sh warns about the default endpoint:\n%s", out)
			}
			got := string(read(t, profile))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("profile lacks %q:\n%s", w, got)
				}
			}
			if tc.region == "" && strings.Contains(got, "AWS_REGION") {
				t.Errorf("profile sets a region nobody asked for:\n%s", got)
			}
			// The profile is valid shell and exports what it says.
			check := exec.Command(sh, "-c", ". "+profile+` && printf %s "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
			if out, err := check.Output(); err != nil || !strings.HasSuffix(string(out), "/") {
				t.Errorf("sourcing the profile: %q %v", out, err)
			}
		})
	}
}

func TestShellScriptsParse(t *testing.T) {
	bash := requireTool(t, "bash", "a bash shell")
	for _, s := range []string{"completions.sh", "deb-check.sh", "rpm-check.sh", "release-check.sh", filepath.Join("devcontainer", "install.sh")} {
		t.Run(s, func(t *testing.T) {
			if out, err := exec.Command(bash, "-n", s).CombinedOutput(); err != nil {
				t.Errorf("bash -n %s: %v\n%s", s, err, out)
			}
			if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable", s)
			}
		})
	}
}

// completions.sh asks the binary for each shell's script; a stand-in
// binary shows which it asked for.
func TestCompletionsScript(t *testing.T) {
	sh := requireTool(t, "sh", "a POSIX shell")
	dir := t.TempDir()
	fake := filepath.Join(dir, "credd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"# $1 $2\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command(sh, "completions.sh", fake, out).CombinedOutput(); err != nil {
		t.Fatalf("completions.sh: %v\n%s", err, b)
	}
	for file, shell := range map[string]string{"credd.bash": "bash", "_credd": "zsh", "credd.fish": "fish", "credd.ps1": "powershell"} {
		if got := strings.TrimSpace(string(read(t, filepath.Join(out, file)))); got != "# completion "+shell {
			t.Errorf("%s = %q, want the %s completion", file, got, shell)
		}
	}
	// A binary that prints nothing is an error, not empty completions.
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(sh, "completions.sh", fake, filepath.Join(dir, "empty")).CombinedOutput(); err == nil {
		t.Errorf("completions.sh accepted empty output: %s", b)
	}
}

// TestLicense: credd is Apache-2.0, and every package says so: the LICENSE
// at the root is that text, the archives carry it, the deb has Debian's
// copyright file naming it, the rpm and both nfpm configs declare it (the
// rpm also ships the text as %license), and the Homebrew formula, the Scoop
// manifest and the dev container feature name it.
func TestLicense(t *testing.T) {
	text := string(read(t, filepath.Join("..", "LICENSE")))
	for _, w := range []string{"Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"} {
		if !strings.Contains(text, w) {
			t.Errorf("LICENSE lacks %q: not the Apache License 2.0", w)
		}
	}
	type pkg struct {
		License  string        `yaml:"license"`
		Contents []nfpmContent `yaml:"contents"`
	}
	hasLicenseFiles := func(name string, cs []nfpmContent) {
		t.Helper()
		want := []string{"packaging/deb/copyright -> /usr/share/doc/credd/copyright deb", "LICENSE -> /usr/share/licenses/credd/LICENSE rpm"}
		for _, w := range want {
			if !slices.ContainsFunc(cs, func(c nfpmContent) bool { return c.Src+" -> "+c.Dst+" "+c.Packager == w }) {
				t.Errorf("%s contents lack %s", name, w)
			}
		}
	}
	var standalone pkg
	if err := yaml.Unmarshal(read(t, "nfpm.yaml"), &standalone); err != nil {
		t.Fatal(err)
	}
	if standalone.License != "Apache-2.0" {
		t.Errorf("nfpm.yaml license %q, want Apache-2.0", standalone.License)
	}
	hasLicenseFiles("nfpm.yaml", standalone.Contents)
	var rel struct {
		Archives []struct {
			Files []any `yaml:"files"`
		} `yaml:"archives"`
		NFPMs []pkg `yaml:"nfpms"`
	}
	if err := yaml.Unmarshal(read(t, "goreleaser.yaml"), &rel); err != nil {
		t.Fatal(err)
	}
	if len(rel.NFPMs) != 1 || rel.NFPMs[0].License != "Apache-2.0" {
		t.Errorf("goreleaser.yaml nfpms license: %+v, want Apache-2.0", rel.NFPMs)
	} else {
		hasLicenseFiles("goreleaser.yaml nfpms", rel.NFPMs[0].Contents)
	}
	if len(rel.Archives) != 1 || !slices.Contains(rel.Archives[0].Files, any("LICENSE")) {
		t.Errorf("goreleaser.yaml archives do not carry LICENSE: %+v", rel.Archives)
	}
	copyright := string(read(t, filepath.Join("deb", "copyright")))
	if !strings.HasPrefix(copyright, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") ||
		!strings.Contains(copyright, "\nLicense: Apache-2.0\n") || !strings.Contains(copyright, "/usr/share/common-licenses/Apache-2.0") {
		t.Errorf("deb/copyright is not a machine-readable copyright file naming Apache-2.0:\n%s", copyright)
	}
	if !regexp.MustCompile(`(?m)^  license "Apache-2\.0"$`).Match(read(t, filepath.Join("homebrew", "credd.rb"))) {
		t.Error(`the Homebrew formula lacks license "Apache-2.0"`)
	}
	var scoop struct {
		License string `json:"license"`
	}
	if err := json.Unmarshal(read(t, filepath.Join("scoop", "credd.json")), &scoop); err != nil || scoop.License != "Apache-2.0" {
		t.Errorf("scoop/credd.json license %q (%v), want Apache-2.0", scoop.License, err)
	}
	var feature struct {
		LicenseURL string `json:"licenseURL"`
	}
	if err := json.Unmarshal(read(t, filepath.Join("devcontainer", "devcontainer-feature.json")), &feature); err != nil || !strings.HasSuffix(feature.LicenseURL, "/LICENSE") {
		t.Errorf("devcontainer-feature.json licenseURL %q (%v), want the repository's LICENSE", feature.LicenseURL, err)
	}
}
