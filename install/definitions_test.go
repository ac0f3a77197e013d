package install

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./install -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Definitions as each OS's install builds them, with the awkward paths
// users have: spaces, quotes, %, $ and &.
var (
	linuxUser = Definition{
		Scope:   User,
		Command: []string{"/home/alice/go/bin/credd", "serve", "--config", "/home/alice/My Configs/credd 100%/config.yaml"},
	}
	linuxSystem = Definition{
		Scope:    System,
		Command:  []string{"/usr/bin/credd", "serve", "--config", "/home/alice/.config/credd/config.yaml", "--listen", "127.0.0.1:9956"},
		UserName: "alice",
	}
	darwinAgent = Definition{
		Scope:   User,
		Command: []string{"/opt/homebrew/bin/credd", "serve", "--config", "/Users/alice/Library/Application Support/credd/R&D <dev>.yaml"},
		LogDir:  "/Users/alice/Library/Logs/credd",
	}
	darwinDaemon = Definition{
		Scope:    System,
		Command:  []string{"/usr/local/bin/credd", "serve"},
		UserName: "alice",
		LogDir:   "/Library/Logs/credd",
	}
	windowsUser = Definition{
		Scope: User,
		Command: []string{`C:\Users\Alice Smith\scoop\apps\credd\current\credd.exe`, "service", "run",
			"--config", `C:\Users\Alice Smith\AppData\Roaming\credd\config.yaml`,
			"--log-file", `C:\Users\Alice Smith\AppData\Local\credd\credd.log`},
		UserID: "S-1-5-21-1004336348-1177238915-682003330-1001",
	}
	windowsSystem = Definition{
		Scope: System,
		Command: []string{`C:\Program Files\credd\credd.exe`, "service", "run",
			"--config", `C:\ProgramData\credd\config.yaml`, "--state-dir", `C:\ProgramData\credd\state\`,
			"--log-file", `C:\ProgramData\credd\state\credd.log`},
	}
)

// PackagedUnit is the user unit the deb and rpm packages install under
// /usr/lib/systemd/user: no config pinned, so each user's default applies.
var packagedUnit = Definition{Scope: User, Command: []string{"/usr/bin/credd", "serve"}}

func TestDefinitionsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func() []byte
	}{
		{"systemd-user.service", func() []byte { return SystemdUnit(linuxUser) }},
		{"systemd-system.service", func() []byte { return SystemdUnit(linuxSystem) }},
		{"systemd-packaged.service", func() []byte { return SystemdUnit(packagedUnit) }},
		{"launchd-agent.plist", func() []byte { return LaunchdPlist(darwinAgent) }},
		{"launchd-daemon.plist", func() []byte { return LaunchdPlist(darwinDaemon) }},
		{"task-user.xml", func() []byte { return TaskXML(windowsUser) }},
		{"windows-service.json", func() []byte { return windowsServiceText(WindowsService(windowsSystem)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, tc.gen())
		})
	}
}

// The packages ship the generator's own output.
func TestPackagedUnitIsGenerated(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "packaging", "systemd", "credd.service"))
	if err != nil {
		t.Fatal(err)
	}
	if want := SystemdUnit(packagedUnit); !bytes.Equal(got, want) {
		t.Errorf("packaging/systemd/credd.service is not SystemdUnit(packagedUnit); copy install/testdata/systemd-packaged.service over it:\n%s", got)
	}
}

func TestSystemdQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "/usr/bin/credd", "/usr/bin/credd"},
		{"space", "/a b/c", `"/a b/c"`},
		{"specifier", "/x/100%", "/x/100%%"},
		{"variable", "/x/$HOME", "/x/$$HOME"},
		{"quote", `/x/"q"`, `"/x/\"q\""`},
		{"backslash", `/x\y`, `"/x\\y"`},
		{"empty", "", `""`},
		{"semicolon", ";", `";"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := systemdQuote(tc.in); got != tc.want {
				t.Errorf("systemdQuote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestSystemdUnitShape(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  Definition
		want []string
		not  []string
	}{
		{"user unit starts at login, restarts on failure", linuxUser,
			[]string{"WantedBy=default.target", "Restart=on-failure", `ExecStart=/home/alice/go/bin/credd serve --config "/home/alice/My Configs/credd 100%%/config.yaml"`},
			[]string{"User=", "multi-user.target"}},
		{"system unit runs as the user at boot", linuxSystem,
			[]string{"User=alice", "WantedBy=multi-user.target", "After=network-online.target"},
			[]string{"default.target"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := string(SystemdUnit(tc.def))
			for _, w := range tc.want {
				if !strings.Contains(unit, w+"\n") {
					t.Errorf("unit lacks %q:\n%s", w, unit)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(unit, n) {
					t.Errorf("unit has %q:\n%s", n, unit)
				}
			}
		})
	}
}

// plistValue is a property-list value decoded with encoding/xml.
type plistValue struct {
	kind  string // string, integer, true, false, array, dict
	text  string
	items []plistValue
	dict  map[string]plistValue
}

// parsePlist decodes an XML property list strictly: a plist element with
// one dict, keys followed by values.
func parsePlist(t *testing.T, data []byte) map[string]plistValue {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var value func(start xml.StartElement) plistValue
	value = func(start xml.StartElement) plistValue {
		v := plistValue{kind: start.Name.Local}
		var key *string
		if v.kind == "dict" {
			v.dict = map[string]plistValue{}
		}
		for {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("plist: %v", err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				switch {
				case v.kind == "dict" && tok.Name.Local == "key":
					var k string
					if err := dec.DecodeElement(&k, &tok); err != nil {
						t.Fatal(err)
					}
					key = &k
				case v.kind == "dict":
					if key == nil {
						t.Fatalf("plist: <%s> without a <key> in a dict", tok.Name.Local)
					}
					v.dict[*key] = value(tok)
					key = nil
				case v.kind == "array":
					v.items = append(v.items, value(tok))
				default:
					t.Fatalf("plist: <%s> inside <%s>", tok.Name.Local, v.kind)
				}
			case xml.CharData:
				v.text += string(tok)
			case xml.EndElement:
				if key != nil {
					t.Fatalf("plist: key %q without a value", *key)
				}
				return v
			}
		}
	}
	// <plist version="1.0"> holding exactly one <dict>.
	var starts []string
	var top map[string]plistValue
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			starts = append(starts, se.Name.Local)
			if se.Name.Local == "dict" {
				top = value(se).dict
			}
		}
	}
	if strings.Join(starts, ",") != "plist,dict" || top == nil {
		t.Fatalf("plist: top-level elements %v, want plist,dict", starts)
	}
	return top
}

func TestLaunchdPlistParses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		def      Definition
		userName string
	}{
		{"agent", darwinAgent, ""},
		{"daemon", darwinDaemon, "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parsePlist(t, LaunchdPlist(tc.def))
			if got := d["Label"]; got.kind != "string" || got.text != Label {
				t.Errorf("Label = %+v", got)
			}
			args := d["ProgramArguments"]
			var got []string
			for _, it := range args.items {
				got = append(got, it.text)
			}
			if strings.Join(got, "\x00") != strings.Join(tc.def.Command, "\x00") {
				t.Errorf("ProgramArguments = %q, want %q", got, tc.def.Command)
			}
			for _, k := range []string{"RunAtLoad", "KeepAlive"} {
				if d[k].kind != "true" {
					t.Errorf("%s = %q, want true", k, d[k].kind)
				}
			}
			wantLog := tc.def.LogDir + "/credd.log"
			if d["StandardErrorPath"].text != wantLog || d["StandardOutPath"].text != wantLog {
				t.Errorf("logs go to %q and %q, want %q", d["StandardOutPath"].text, d["StandardErrorPath"].text, wantLog)
			}
			if d["UserName"].text != tc.userName {
				t.Errorf("UserName = %q, want %q", d["UserName"].text, tc.userName)
			}
			if d["Umask"].text != "63" {
				t.Errorf("Umask = %q, want 63 (077)", d["Umask"].text)
			}
		})
	}
}

// taskDoc is the part of a Task Scheduler definition the tests check.
type taskDoc struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/windows/2004/02/mit/task Task"`
	URI      string   `xml:"RegistrationInfo>URI"`
	Trigger  string   `xml:"Triggers>LogonTrigger>UserId"`
	User     string   `xml:"Principals>Principal>UserId"`
	Logon    string   `xml:"Principals>Principal>LogonType"`
	RunLevel string   `xml:"Principals>Principal>RunLevel"`
	Limit    string   `xml:"Settings>ExecutionTimeLimit"`
	Multiple string   `xml:"Settings>MultipleInstancesPolicy"`
	Priority string   `xml:"Settings>Priority"`
	Restart  struct {
		Interval string `xml:"Interval"`
		Count    string `xml:"Count"`
	} `xml:"Settings>RestartOnFailure"`
	OnBatteries   string `xml:"Settings>DisallowStartIfOnBatteries"`
	StopOnBattery string `xml:"Settings>StopIfGoingOnBatteries"`
	StopOnIdleEnd string `xml:"Settings>IdleSettings>StopOnIdleEnd"`
	RunOnlyIfIdle string `xml:"Settings>RunOnlyIfIdle"`
	NeedsNetwork  string `xml:"Settings>RunOnlyIfNetworkAvailable"`
	Command       string `xml:"Actions>Exec>Command"`
	Args          string `xml:"Actions>Exec>Arguments"`
}

func parseTask(t *testing.T, text []byte) taskDoc {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.Strict = true
	// The text is already decoded; the declaration names the file's encoding.
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) { return r, nil }
	var doc taskDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("task XML: %v", err)
	}
	return doc
}

func TestTaskXML(t *testing.T) {
	text := TaskXML(windowsUser)
	doc := parseTask(t, text)
	if doc.URI != `\credd` || doc.Trigger != windowsUser.UserID || doc.User != windowsUser.UserID {
		t.Errorf("registration/trigger/principal: %+v", doc)
	}
	// What Windows needs of a logon task (TaskXML's comment): only while
	// the user is logged on, never elevated, no time limit, no condition
	// that stops or holds it, a normal priority, and values inside the
	// schema's ranges (schtasks refuses the whole file otherwise:
	// RestartOnFailure's Count is an unsignedByte from 1, its Interval
	// from PT1M to P31D, Priority 0 to 10).
	if doc.Logon != "InteractiveToken" || doc.RunLevel != "LeastPrivilege" || doc.Limit != "PT0S" || doc.Multiple != "IgnoreNew" || !bytes.Contains(text, []byte(`<Actions Context="Author">`)) {
		t.Errorf("principal and settings: %+v", doc)
	}
	for name, v := range map[string]string{"DisallowStartIfOnBatteries": doc.OnBatteries, "StopIfGoingOnBatteries": doc.StopOnBattery,
		"StopOnIdleEnd": doc.StopOnIdleEnd, "RunOnlyIfIdle": doc.RunOnlyIfIdle, "RunOnlyIfNetworkAvailable": doc.NeedsNetwork} {
		if v != "false" {
			t.Errorf("%s = %q, want false", name, v)
		}
	}
	if p, err := strconv.Atoi(doc.Priority); err != nil || p < 4 || p > 6 {
		t.Errorf("Priority = %q, want 4 to 6 (a normal-priority process, as for interactive tasks)", doc.Priority)
	}
	if n, err := strconv.Atoi(doc.Restart.Count); err != nil || n < 1 || n > 255 {
		t.Errorf("RestartOnFailure Count = %q, want 1 to 255", doc.Restart.Count)
	}
	if doc.Restart.Interval != "PT1M" {
		t.Errorf("RestartOnFailure Interval = %q, want PT1M (the schema's least)", doc.Restart.Interval)
	}
	if doc.Command != headlessHost {
		t.Errorf("Command = %q", doc.Command)
	}
	// Windows splits the arguments back into exactly the command.
	want := append([]string{"--headless"}, windowsUser.Command...)
	if got := splitWindowsArgs(doc.Args); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("Arguments %s split into %q, want %q", doc.Args, got, want)
	}

	file := TaskXMLFile(text)
	if !bytes.HasPrefix(file, []byte{0xFF, 0xFE}) || len(file)%2 != 0 {
		t.Fatalf("not UTF-16LE with a BOM: % x", file[:4])
	}
	u := make([]uint16, 0, len(file)/2-1)
	for i := 2; i < len(file); i += 2 {
		u = append(u, uint16(file[i])|uint16(file[i+1])<<8)
	}
	back := string(utf16.Decode(u))
	if back != strings.ReplaceAll(string(text), "\n", "\r\n") {
		t.Errorf("UTF-16 file does not decode to the text with CRLF")
	}
	parseTask(t, []byte(back))
}

// splitWindowsArgs splits a command line as CommandLineToArgvW does (the
// rules Go's runtime follows on Windows), to check WindowsQuote against.
func splitWindowsArgs(s string) []string {
	var args []string
	var b strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				b.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					b.WriteByte('"')
				} else {
					inQuote = !inQuote
				}
				have = true
			} else {
				b.WriteString(strings.Repeat(`\`, n))
				i--
				have = true
			}
		case c == '"':
			if inQuote && i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
			} else {
				inQuote = !inQuote
			}
			have = true
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				args = append(args, b.String())
				b.Reset()
				have = false
			}
		default:
			b.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, b.String())
	}
	return args
}

func TestWindowsQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "serve", "serve"},
		{"empty", "", `""`},
		{"space", `C:\Program Files\credd\credd.exe`, `"C:\Program Files\credd\credd.exe"`},
		{"backslashes without space", `C:\x\y`, `C:\x\y`},
		{"trailing backslash with space", `C:\a b\`, `"C:\a b\\"`},
		{"quote", `say "hi"`, `"say \"hi\""`},
		{"backslash before quote", `a\"b`, `a\\\"b`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WindowsQuote(tc.in)
			if got != tc.want {
				t.Errorf("WindowsQuote(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if back := splitWindowsArgs("x " + got); len(back) != 2 || back[1] != tc.in {
				t.Errorf("%s splits back into %q", got, back)
			}
		})
	}
}

func FuzzWindowsQuote(f *testing.F) {
	for _, s := range []string{"", "a b", `a\`, `a\ b\`, `"`, `\"\\"`, "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\x00\n\r") {
			t.Skip()
		}
		back := splitWindowsArgs("x " + WindowsQuote(s))
		if len(back) != 2 || back[1] != s {
			t.Errorf("%q quoted as %s splits into %q", s, WindowsQuote(s), back)
		}
	})
}

func TestWindowsServiceDefinition(t *testing.T) {
	c := WindowsService(windowsSystem)
	if c.Name != Name || c.Executable != windowsSystem.Command[0] || len(c.Arguments) != len(windowsSystem.Command)-1 {
		t.Errorf("config: %+v", c)
	}
	if c.Option["StartType"] != "automatic" || c.Option["OnFailure"] != "restart" {
		t.Errorf("options: %v", c.Option)
	}
	if c.UserName != "" {
		t.Errorf("UserName = %q, want LocalSystem (empty)", c.UserName)
	}
}
