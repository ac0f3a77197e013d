package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strings"
)

// SharedFiles is one reading of the shared AWS config and credentials
// files, split into sections as the Go SDK splits them, so that what the
// SDK reads for one profile can be had without parsing the files again:
// reading every profile of a file costs one parse of it, not one per
// profile (the SDK's own loader parses the whole files on every call).
//
// It only groups lines by section and follows the references the SDK
// follows (source_profile, sso_session, services); resolving a profile is
// still the SDK's work (see AWSProfile.View).
type SharedFiles struct {
	config, creds sectionLines
	errs          []string // read errors, part of every key
	// viewable: exactly one config file was given and it could be read, so
	// a view can stand in for it.
	viewable bool
}

// sectionLines maps a section's name, as the SDK names it ("profile dev",
// "default", "sso-session corp", "services s3"), to its meaningful lines
// (no blank or comment lines) in file order, every occurrence of the
// section included.
type sectionLines map[string][]string

// ReadSharedFiles reads the files (missing ones are empty, as for the
// SDK).
func ReadSharedFiles(configFiles, credentialFiles []string) *SharedFiles {
	s := &SharedFiles{config: sectionLines{}, creds: sectionLines{}, viewable: len(configFiles) == 1}
	for _, f := range []struct {
		paths []string
		into  sectionLines
	}{{configFiles, s.config}, {credentialFiles, s.creds}} {
		for _, path := range f.paths {
			b, err := os.ReadFile(path)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					s.errs = append(s.errs, err.Error())
					s.viewable = false
				}
				continue
			}
			splitSections(string(b), f.into)
		}
	}
	return s
}

// splitSections adds the sections of content to into, with the Go SDK's
// line rules: lines split at "\n"; blank lines and lines whose first
// non-blank character is '#' or ';' are nothing; a line that is "[...]"
// once a '#' or ';' and what follows are cut off is a section header;
// lines before the first header belong to no section.
func splitSections(content string, into sectionLines) {
	cur := ""
	in := false
	for line := range strings.SplitSeq(content, "\n") {
		t := strings.TrimLeft(line, " \t")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		if name, ok := sectionHeader(line); ok {
			cur, in = name, true
			if _, seen := into[cur]; !seen {
				into[cur] = nil
			}
			continue
		}
		if in {
			into[cur] = append(into[cur], line)
		}
	}
}

// sectionHeader reports whether line is a section header and the name the
// SDK gives the section: "TYPE NAME" when the bracketed text has a first
// word and a rest, else the text itself.
func sectionHeader(line string) (string, bool) {
	h, _, _ := strings.Cut(line, "#")
	h, _, _ = strings.Cut(h, ";")
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "[") || !strings.HasSuffix(h, "]") || len(h) < 2 {
		return "", false
	}
	h = strings.TrimSpace(h[1 : len(h)-1])
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		typ, rest := h[:i], strings.TrimLeft(h[i:], " \t")
		if rest == "" {
			return "", true // the SDK names it nothing
		}
		return typ + " " + rest, true
	}
	return h, true
}

// property splits a property line as the SDK does: not indented, a " #"
// or " ;" comment cut off, "key = value" or "key: value", the key
// lowercased, the value unquoted.
func property(line string) (key, value string, ok bool) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return "", "", false
	}
	for _, c := range []string{" #", " ;", "\t#", "\t;"} {
		line, _, _ = strings.Cut(line, c)
	}
	line = strings.TrimRight(line, " \t")
	eq, colon := strings.Index(line, "="), strings.Index(line, ":")
	sep := "="
	if eq == -1 || colon != -1 && colon < eq {
		sep = ":"
	}
	k, v, ok := strings.Cut(line, sep)
	if !ok {
		return "", "", false
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return strings.ToLower(strings.TrimSpace(k)), v, true
}

// secretKeys are the keys whose values are secrets; a view holding one is
// never written to a file.
var secretKeys = map[string]bool{"aws_access_key_id": true, "aws_secret_access_key": true, "aws_session_token": true}

// SharedView is what the SDK reads of the shared files to resolve one
// profile: the profile's sections, those of every source_profile hop, and
// the sso-session and services sections they name.
type SharedView struct {
	// config is the config file's part of the view, as a file of its own;
	// nil when the SDK must read the real files (several config files, an
	// unreadable one, or secrets in the view).
	config []byte
	key    string
	sso    bool // the profile signs in with IAM Identity Center
}

// View is profile's view. Its Key changes whenever anything in it does.
func (s *SharedFiles) View(profile string) *SharedView {
	var cfg, creds bytes.Buffer
	secret, sso := false, false
	done := map[string]bool{}
	var section func(from sectionLines, out *bytes.Buffer, name string, top bool)
	var visit func(profile string, top bool)
	section = func(from sectionLines, out *bytes.Buffer, name string, top bool) {
		lines, ok := from[name]
		if !ok {
			return
		}
		out.WriteString("[" + name + "]\n")
		var next []func()
		for _, l := range lines {
			out.WriteString(l)
			out.WriteByte('\n')
			k, v, ok := property(l)
			if !ok {
				continue
			}
			// Only the config file's part is ever written out.
			secret = secret || secretKeys[k] && out == &cfg
			switch k {
			case "source_profile":
				next = append(next, func() { visit(v, false) })
			case "sso_session", "services":
				n := "services " + v
				if k == "sso_session" {
					sso = sso || top
					n = "sso-session " + strings.TrimSpace(v)
				}
				if !done["c:"+n] {
					done["c:"+n] = true
					next = append(next, func() { section(s.config, &cfg, n, false) })
				}
			case "sso_start_url":
				sso = sso || top
			}
		}
		// The sections this one names follow it, not inside it.
		for _, f := range next {
			f()
		}
	}
	visit = func(profile string, top bool) {
		if done["p:"+profile] {
			return
		}
		done["p:"+profile] = true
		names := []string{"profile " + profile}
		if profile == "default" {
			names = []string{"default", "profile default"}
		}
		for _, n := range names {
			section(s.config, &cfg, n, top)
		}
		section(s.creds, &creds, profile, top)
	}
	visit(profile, true)

	h := sha256.New()
	for _, part := range [][]byte{[]byte("config"), cfg.Bytes(), []byte("credentials"), creds.Bytes(), []byte(strings.Join(s.errs, "\n"))} {
		h.Write(part)
		h.Write([]byte{0})
	}
	v := &SharedView{key: hex.EncodeToString(h.Sum(nil)[:12]), sso: sso}
	if s.viewable && !secret {
		v.config = bytes.Clone(cfg.Bytes())
		if v.config == nil {
			v.config = []byte{}
		}
	}
	return v
}

// Key digests the view (secrets included, never shown).
func (v *SharedView) Key() string { return v.key }
