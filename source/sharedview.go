package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strings"

	"github.com/credd/credd/awsfile"
)

// SharedFiles is one reading of the shared AWS config and credentials
// files (awsfile), grouped by section as the Go SDK names sections, so
// that what the SDK reads for one profile can be had without parsing the
// files again: reading every profile of a file costs one parse of it, not
// one per profile (the SDK's own loader parses the whole files on every
// call).
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
type sectionLines map[string][]awsfile.Line

// ReadSharedFiles reads the files (missing ones are empty, as for the
// SDK).
func ReadSharedFiles(configFiles, credentialFiles []string) *SharedFiles {
	s := &SharedFiles{config: sectionLines{}, creds: sectionLines{}, viewable: len(configFiles) == 1}
	for _, f := range []struct {
		paths []string
		kind  awsfile.Kind
		into  sectionLines
	}{{configFiles, awsfile.Config, s.config}, {credentialFiles, awsfile.Credentials, s.creds}} {
		for _, path := range f.paths {
			file, err := awsfile.ReadFile(path, f.kind)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					s.errs = append(s.errs, err.Error())
					s.viewable = false
				}
				continue
			}
			group(file, f.into)
		}
	}
	return s
}

// group adds the sections of f to into under the names the SDK gives
// them: "TYPE NAME", or the name alone.
func group(f *awsfile.File, into sectionLines) {
	for _, sec := range f.Sections {
		name := sec.Name
		if sec.Type != "" {
			name = sec.Type + " " + sec.Name
		}
		if name == "" {
			continue // the SDK names it nothing
		}
		lines := into[name]
		for _, l := range f.Lines[sec.Line+1 : sec.End] {
			if l.Kind != awsfile.Ignored {
				lines = append(lines, l)
			}
		}
		if lines == nil {
			lines = []awsfile.Line{}
		}
		into[name] = lines
	}
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
			out.WriteString(l.Text)
			out.WriteByte('\n')
			if l.Kind != awsfile.Option {
				continue
			}
			k, v := l.Name, awsfile.GoSDKValue(l.Value())
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
