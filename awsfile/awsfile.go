// Package awsfile reads the shared AWS config and credentials files
// (~/.aws/config, ~/.aws/credentials). It is the one reader of those files
// in credd: listing the profiles to serve, the sections the SDK reads for
// one profile (source.SharedFiles), importing Identity Center sessions,
// diagnosing a default profile with credentials of its own, and the
// line-by-line view credfile edits.
//
// Lines are read as botocore reads them (Python's configparser with its
// defaults), the strictest of the SDKs' readers: '#' and ';' start
// whole-line comments only, '=' and ':' delimit, keys are lowercased, and
// a line indented deeper than the key above continues its value. Sections
// are named as the SDKs name them: in the config file [default] and
// [profile NAME] are profiles, [sso-session NAME] are Identity Center
// sessions, and anything else (services, plugins) is no profile; in the
// credentials file every [NAME] is a profile. Where botocore and the Go SDK
// differ, credd follows the Go SDK, which resolves the profiles it serves:
// [profile default] wins over [default] in the config file, [profile NAME]
// is no profile in the credentials file, a section written twice is one
// section with the later values winning, and names are trimmed of spaces.
// Values are kept as botocore reads them; GoSDKValue gives what the Go SDK
// reads (it also cuts a trailing " # note" and strips quotes).
//
// A file is read once and indexed by name: reading many profiles costs one
// parse of each file, never one per profile.
package awsfile

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"unicode"
)

// Kind says which of the two files a File is: they name sections
// differently.
type Kind int

const (
	// Config is the config file (~/.aws/config): [default], [profile
	// NAME], [sso-session NAME], [services NAME].
	Config Kind = iota
	// Credentials is the credentials file (~/.aws/credentials): every
	// [NAME] is a profile, but [profile NAME].
	Credentials
)

func (k Kind) String() string {
	if k == Credentials {
		return "credentials"
	}
	return "config"
}

// Section types of the config file.
const (
	TypeProfile    = "profile"
	TypeSSOSession = "sso-session"
)

// LineKind is what configparser makes of a line.
type LineKind int

const (
	Ignored      LineKind = iota // blank, or a comment
	Header                       // [name]
	Option                       // key = value
	Continuation                 // indented deeper than the key above: part of its value
	Other                        // anything configparser refuses (a line before any section, a key without '=')
)

// Line is one line of a file and what it is.
type Line struct {
	Text string // without the line ending
	EOL  string // "\n", "\r\n", or "" for a last line without one
	Kind LineKind
	// Name is, for a Header, the section's name as written between the
	// brackets; for an Option, its key, lowercased.
	Name string
	// Delim is the index in Text of an Option's delimiter, and
	// ValueStart:ValueEnd the byte range of its value.
	Delim, ValueStart, ValueEnd int
	// Owner is, for a Continuation, the index of the Option line it
	// continues.
	Owner int
}

// Value is an Option's value on its own line (without continuations).
func (l Line) Value() string { return l.Text[l.ValueStart:l.ValueEnd] }

// Section is one section of a file, or the merge of a section written
// more than once.
type Section struct {
	// Header is the section's name as written between the brackets.
	Header string
	// Type is TypeProfile, TypeSSOSession, another word of the config file
	// ("services"), or "" for a section of the credentials file.
	Type string
	// Name is the name the SDKs give it: the profile's or session's name.
	Name string
	// Line is the index (from 0) of its header line, and End the index
	// after its last line (the next header's, or the number of lines); of
	// the last occurrence when the section is written more than once.
	Line, End int

	keys   []string // in the order first written
	values map[string]string
}

// Get is the value of key (lowercase), continuation lines joined with
// "\n", and whether the section has the key.
func (s *Section) Get(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	v, ok := s.values[key]
	return v, ok
}

// Value is the value of key, "" if the section has none.
func (s *Section) Value(key string) string {
	v, _ := s.Get(key)
	return v
}

// Keys lists the section's keys in the order they were first written.
func (s *Section) Keys() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.keys)
}

func (s *Section) set(key, value string) {
	if _, ok := s.values[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.values[key] = value
}

// merged is a copy of s with the keys of later set over its own.
func (s *Section) merged(later *Section) *Section {
	m := &Section{Header: later.Header, Type: later.Type, Name: later.Name, Line: later.Line, End: later.End, values: make(map[string]string, len(s.values)+len(later.values))}
	for _, src := range []*Section{s, later} {
		for _, k := range src.keys {
			m.set(k, src.values[k])
		}
	}
	return m
}

// File is one parsed file.
type File struct {
	Path string // "" when parsed from memory
	Kind Kind
	// Lines are the file's lines, each classified.
	Lines []Line
	// Sections are the sections in file order, a section written twice
	// listed twice.
	Sections []*Section

	profiles, sessions         map[string]*Section
	profileOrder, sessionOrder []string // names in the order first written
}

// Parse reads a file's content. It never fails: what configparser would
// refuse is classified Other and belongs to no section.
func Parse(data []byte, kind Kind) *File {
	f := &File{Kind: kind, Lines: classify(splitLines(data))}
	var cur *Section
	// A value's continuation lines are joined once its section ends: one
	// copy of the value, not one per line.
	var parts []string
	partsOf := -1 // the Option line parts belongs to
	join := func() {
		if partsOf >= 0 && cur != nil {
			key := f.Lines[partsOf].Name
			cur.values[key] += "\n" + strings.Join(parts, "\n")
		}
		parts, partsOf = parts[:0], -1
	}
	for i, l := range f.Lines {
		if l.Kind != Continuation && l.Kind != Ignored {
			join()
		}
		switch l.Kind {
		case Header:
			if cur != nil {
				cur.End = i
			}
			cur = &Section{Header: l.Name, Line: i, values: map[string]string{}}
			cur.Type, cur.Name = name(l.Name, kind)
			f.Sections = append(f.Sections, cur)
		case Option:
			if cur != nil {
				cur.set(l.Name, l.Value())
			}
		case Continuation:
			if l.Owner != partsOf {
				join()
				partsOf = l.Owner
			}
			parts = append(parts, strings.TrimFunc(l.Text, IsSpace))
		}
	}
	join()
	if cur != nil {
		cur.End = len(f.Lines)
	}
	f.index()
	return f
}

// name gives a section the type and name the SDKs give it.
// In the credentials file only a [profile NAME] section has a type: the
// Go SDK ignores it there.
func name(header string, kind Kind) (typ, n string) {
	h := strings.TrimFunc(header, IsSpace)
	if i := strings.IndexFunc(h, IsSpace); i >= 0 {
		typ, n = h[:i], strings.TrimLeftFunc(h[i:], IsSpace)
	}
	if kind == Credentials && typ != TypeProfile {
		return "", h
	}
	if typ == "" {
		return "", h
	}
	return typ, n
}

func (f *File) index() {
	f.profiles, f.sessions = map[string]*Section{}, map[string]*Section{}
	listed := map[string]bool{} // profile names in profileOrder
	var bare *Section           // [default] in the config file
	for _, s := range f.Sections {
		switch {
		case s.Name == "":
			continue
		case f.Kind == Credentials && s.Type == "", f.Kind == Config && s.Type == TypeProfile:
			if prev, ok := f.profiles[s.Name]; ok {
				s = prev.merged(s)
			}
			f.profiles[s.Name] = s
		case f.Kind == Config && s.Type == "" && s.Name == "default":
			if bare != nil {
				s = bare.merged(s)
			}
			bare = s
		case s.Type == TypeSSOSession:
			if prev, ok := f.sessions[s.Name]; ok {
				s = prev.merged(s)
			} else {
				f.sessionOrder = append(f.sessionOrder, s.Name)
			}
			f.sessions[s.Name] = s
			continue
		default:
			continue
		}
		if !listed[s.Name] {
			listed[s.Name] = true
			f.profileOrder = append(f.profileOrder, s.Name)
		}
	}
	if _, ok := f.profiles["default"]; !ok && bare != nil {
		f.profiles["default"] = bare // [profile default] wins, as in the Go SDK
	}
}

// GoSDKValue is a value as the Go SDK reads it: cut at a comment that
// follows a space or tab (" # note", "\t; note"), and unquoted.
func GoSDKValue(v string) string {
	for _, c := range []string{" #", " ;", "\t#", "\t;"} {
		v, _, _ = strings.Cut(v, c)
	}
	v = strings.TrimRight(v, " \t")
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return v
}

// Profile is the section of the named profile, or nil.
func (f *File) Profile(name string) *Section { return f.profiles[name] }

// Profiles lists the file's profile names in the order first written.
func (f *File) Profiles() []string { return slices.Clone(f.profileOrder) }

// SSOSession is the [sso-session NAME] section, or nil.
func (f *File) SSOSession(name string) *Section { return f.sessions[name] }

// SSOSessions lists the names of the [sso-session] sections in the order
// first written.
func (f *File) SSOSessions() []string { return slices.Clone(f.sessionOrder) }

// ReadFile reads and parses the file at path. A missing file is an error
// that wraps fs.ErrNotExist (Read takes it for an empty one).
func ReadFile(path string, kind Kind) (*File, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	f := Parse(data, kind)
	f.Path = path
	return f, nil
}

// Paths are where the two files are.
type Paths struct {
	Config, Credentials string // "" for none
}

// Files are the config and credentials files read together.
type Files struct {
	Config, Credentials *File
}

// Read reads both files, each once. A missing file (or an empty path) is
// an empty file.
func Read(p Paths) (*Files, error) {
	files := &Files{Config: Parse(nil, Config), Credentials: Parse(nil, Credentials)}
	for _, f := range []struct {
		path string
		kind Kind
		into **File
	}{{p.Config, Config, &files.Config}, {p.Credentials, Credentials, &files.Credentials}} {
		if f.path == "" {
			continue
		}
		file, err := ReadFile(f.path, f.kind)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*f.into = file
	}
	return files, nil
}

// Profiles lists the names of the profiles of either file, sorted.
func (f *Files) Profiles() []string {
	names := f.Config.Profiles()
	for _, n := range f.Credentials.Profiles() {
		if f.Config.Profile(n) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Profile is what the files say of the named profile: its section in each
// file (nil where it has none). ok is false if neither has it.
func (f *Files) Profile(name string) (p Profile, ok bool) {
	p = Profile{Name: name, Config: f.Config.Profile(name), Credentials: f.Credentials.Profile(name)}
	return p, p.Config != nil || p.Credentials != nil
}

// Profile is one profile's sections.
type Profile struct {
	Name                string
	Config, Credentials *Section
}

// Get is the value of key, from the credentials file if it has the key
// there (as every SDK reads static keys), else from the config file.
func (p Profile) Get(key string) (string, bool) {
	if v, ok := p.Credentials.Get(key); ok {
		return v, true
	}
	return p.Config.Get(key)
}

// splitLines splits data at "\n", keeping each line's ending.
func splitLines(data []byte) []Line {
	s := string(data)
	lines := make([]Line, 0, strings.Count(s, "\n")+1)
	for s != "" {
		text, rest, found := strings.Cut(s, "\n")
		l := Line{Text: text}
		if found {
			l.EOL = "\n"
			if t, ok := strings.CutSuffix(text, "\r"); ok {
				l.Text, l.EOL = t, "\r\n"
			}
		}
		lines = append(lines, l)
		s = rest
	}
	return lines
}

// classify classifies lines as Python's configparser.RawConfigParser (the
// parser botocore uses) reads them, with its defaults.
func classify(lines []Line) []Line {
	inSection := false
	owner := -1 // the last key line, while a continuation may follow it
	indent := 0
	for i := range lines {
		l := &lines[i]
		rest := strings.TrimLeftFunc(l.Text, IsSpace)
		cur := len(l.Text) - len(rest) // the indent, and where stripped starts
		stripped := strings.TrimRightFunc(rest, IsSpace)
		if stripped == "" || stripped[0] == '#' || stripped[0] == ';' {
			l.Kind = Ignored
			continue
		}
		if inSection && owner >= 0 && cur > indent {
			l.Kind, l.Owner = Continuation, owner
			continue
		}
		indent = cur
		if end := strings.LastIndexByte(stripped, ']'); stripped[0] == '[' && end >= 2 {
			l.Kind, l.Name = Header, stripped[1:end]
			inSection, owner = true, -1
			continue
		}
		if !inSection {
			l.Kind = Other
			continue
		}
		d := strings.IndexAny(stripped, "=:")
		key := ""
		if d >= 0 {
			key = strings.TrimRightFunc(stripped[:d], IsSpace)
		}
		if key == "" {
			l.Kind = Other
			if d >= 0 {
				owner = -1 // configparser's optname is now ""
			}
			continue
		}
		start := d + 1
		for start < len(stripped) && IsSpace(rune(stripped[start])) {
			start++
		}
		l.Kind, l.Name = Option, strings.ToLower(key)
		l.Delim, l.ValueStart, l.ValueEnd = cur+d, cur+start, cur+len(stripped)
		owner = i
	}
	return lines
}

// IsSpace is Python's str.isspace for one character, what configparser
// strips: Unicode whitespace and the ASCII separators 0x1c..0x1f.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
