package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse reads YAML over the defaults. Unknown keys and values of the wrong
// kind are reported together as Errors, each under its key path; the
// Config returned with them still holds every value that could be decoded
// (unknown keys and values of the wrong kind left out), so that Validate
// can report the remaining problems in the same run (see Merge). Parse
// does not validate: call Validate on the result.
func Parse(r io.Reader) (Config, error) {
	cfg := Default()
	data, err := io.ReadAll(r)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	var root yaml.Node
	if err := safely(func() error { return yaml.Unmarshal(data, &root) }); err != nil {
		return cfg, fmt.Errorf("config is not valid YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return cfg, nil
	}
	doc := root.Content[0]
	if errs := checkNode(doc, reflect.TypeOf(cfg), ""); len(errs) > 0 {
		// Best effort: yaml.v3 skips unknown keys and, past a value of
		// the wrong kind, decodes the rest. Every problem it could meet
		// is in errs already.
		_ = safely(func() error { return doc.Decode(&cfg) })
		return cfg, errs
	}
	if err := safely(func() error { return decode(doc, &cfg) }); err != nil {
		return cfg, fmt.Errorf("decoding config: %w", err)
	}
	return cfg, nil
}

// decode decodes doc into cfg. yaml.v3 checks a mapping for duplicate
// keys by comparing every pair, which made a config of 50,000 profiles
// take most of a minute to read; so the profiles mapping is checked with
// a set and decoded entry by entry. A mapping with a duplicate or a merge
// key goes to yaml.v3 whole, which reports or merges them as it always
// did.
func decode(doc *yaml.Node, cfg *Config) error {
	profiles := mappingValue(doc, "profiles")
	if profiles == nil || profiles.Kind != yaml.MappingNode || !plainKeys(profiles) {
		return doc.Decode(cfg)
	}
	entries := profiles.Content
	profiles.Content = nil
	err := doc.Decode(cfg)
	profiles.Content = entries
	if err != nil {
		return err
	}
	if cfg.Profiles == nil {
		cfg.Profiles = make(map[string]Profile, len(entries)/2)
	}
	for i := 0; i+1 < len(entries); i += 2 {
		var name string
		var p Profile
		if err := entries[i].Decode(&name); err != nil {
			return err
		}
		if err := entries[i+1].Decode(&p); err != nil {
			return err
		}
		cfg.Profiles[name] = p
	}
	return nil
}

// mappingValue is the value of key in mapping node n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// plainKeys reports whether mapping n has only scalar keys, none twice
// and none a merge key.
func plainKeys(n *yaml.Node) bool {
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || k.Value == "<<" || seen[k.Value] {
			return false
		}
		seen[k.Value] = true
	}
	return true
}

// Salvage reads what it can from a config file that Parse refuses, even
// one that is not YAML at all (a file in the middle of an edit): the
// top-level keys that Set accepts written one per line as `key: value`
// (state_dir, listen, default_profile, ...), over the defaults. Values
// that do not parse are left at their defaults. It is for finding a
// running daemon, never for running one.
func Salvage(data []byte) Config {
	cfg := Default()
	var root yaml.Node
	if safely(func() error { return yaml.Unmarshal(data, &root) }) == nil {
		if len(root.Content) > 0 {
			// Ignores unknown keys; skips wrong kinds.
			_ = safely(func() error { return root.Content[0].Decode(&cfg) })
		}
		return cfg
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, _, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(key, ".") || !slices.Contains(EnvKeys, key) {
			continue // not a top-level key that Set takes
		}
		var m map[string]string
		if safely(func() error { return yaml.Unmarshal([]byte(line), &m) }) != nil {
			continue
		}
		if v, ok := m[key]; ok && v != "" {
			_ = cfg.Set(key, v)
		}
	}
	return cfg
}

// ErrParserFailed marks a file the YAML library itself failed on (it
// panicked: yaml.v3 did on a merge key whose value is a mapping key).
var ErrParserFailed = errors.New("the YAML parser failed on this file")

// safely runs a call into the YAML library, turning a panic into
// ErrParserFailed: a file in the middle of an edit must not stop a
// running daemon when it reloads.
func safely(call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", ErrParserFailed, r)
		}
	}()
	return call()
}

var (
	durationType = reflect.TypeOf(Duration{})
	listenerType = reflect.TypeOf(Listener{})
)

// checkNode walks the YAML tree against the Go type and collects unknown
// keys and kind mismatches, so that decoding afterwards cannot fail.
func checkNode(n *yaml.Node, t reflect.Type, path string) Errors {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return nil
	}
	at := func(msg string, args ...any) Errors {
		return Errors{{Key: path, Msg: fmt.Sprintf(msg, args...) + fmt.Sprintf(" (line %d)", n.Line)}}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return at("must be a duration such as 20m or 1h")
		}
		return nil
	case t == listenerType && n.Kind == yaml.ScalarNode:
		return nil // the address alone
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return at("must be a mapping of keys")
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		var errs Errors
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf("unknown key (line %d); known keys here: %s", k.Line, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))})
				continue
			}
			errs = append(errs, checkNode(v, ft, key)...)
		}
		return errs
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return at("must be a mapping")
		}
		var errs Errors
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			errs = append(errs, checkNode(v, t.Elem(), join(path, k.Value))...)
		}
		return errs
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return at("must be a list, e.g. [a, b]")
		}
		var errs Errors
		for i, v := range n.Content {
			errs = append(errs, checkNode(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case t.Kind() == reflect.Bool:
		if _, err := strconv.ParseBool(n.Value); n.Kind != yaml.ScalarNode || err != nil || n.Tag != "!!bool" {
			return at("must be true or false, got %q", n.Value)
		}
	case t.Kind() == reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return at("must be a whole number, got %q", n.Value)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			return at("must be a single value")
		}
	}
	return nil
}

// join makes the key path of key under path. An empty key (YAML allows
// one) shows as "", so that every problem still names where it is.
func join(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// FieldError is one problem with one key.
type FieldError struct {
	Key string
	Msg string
}

func (e FieldError) Error() string { return e.Key + ": " + e.Msg }

// Errors is every problem found, one per line.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// AsErrors returns the field errors inside err, if any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	return nil, false
}

// EnvKeys lists the keys that Set accepts, which cmd/credd binds to
// CREDD_<KEY> environment variables.
var EnvKeys = []string{
	"listen", "allow_users", "extra_listen", "allow_clients", "state_dir", "default_profile", "session_store",
	"imds.allow_v1", "imds.hop_limit", "refresh.ahead", "refresh.idle_after", "refresh.fetch_timeout",
	"sts.region", "sts.endpoint", "iam.endpoint", "console.issuer", "console.federation_endpoint",
	"signin.endpoint", "signin.share_aws_cli_cache", "sign_in_on_demand", "sign_in_on_demand_backoff",
}

// Set overrides one key with a value given as text (from the environment or
// a flag). Lists are comma-separated.
func (c *Config) Set(key, value string) error {
	list := func() []string {
		var out []string
		for _, s := range strings.Split(value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var err error
	switch key {
	case "listen":
		c.Listen = value
	case "allow_users":
		c.AllowUsers = list()
	case "extra_listen":
		c.ExtraListen = nil
		for _, a := range list() {
			c.ExtraListen = append(c.ExtraListen, Addr(a))
		}
	case "allow_clients":
		c.AllowClients = list()
	case "state_dir":
		c.StateDir = value
	case "default_profile":
		c.DefaultProfile = value
	case "session_store":
		c.SessionStore = value
	case "imds.allow_v1":
		c.IMDS.AllowV1, err = strconv.ParseBool(value)
	case "imds.hop_limit":
		c.IMDS.HopLimit, err = strconv.Atoi(value)
	case "refresh.ahead":
		err = c.Refresh.Ahead.set(value)
	case "refresh.idle_after":
		err = c.Refresh.IdleAfter.set(value)
	case "refresh.fetch_timeout":
		err = c.Refresh.FetchTimeout.set(value)
	case "sts.region":
		c.STS.Region = value
	case "sts.endpoint":
		c.STS.Endpoint = value
	case "iam.endpoint":
		c.IAM.Endpoint = value
	case "console.issuer":
		c.Console.Issuer = value
	case "console.federation_endpoint":
		c.Console.FederationEndpoint = value
	case "signin.endpoint":
		c.SignIn.Endpoint = value
	case "signin.share_aws_cli_cache":
		var b bool
		if b, err = strconv.ParseBool(value); err == nil {
			c.SignIn.ShareAWSCLICache = &b
		}
	case "sign_in_on_demand":
		c.SignInOnDemand = value
	case "sign_in_on_demand_backoff":
		err = c.SignInOnDemandBackoff.set(value)
	default:
		return FieldError{Key: key, Msg: "cannot be set from the environment or a flag"}
	}
	if err != nil {
		return FieldError{Key: key, Msg: fmt.Sprintf("bad value %q: %v", value, err)}
	}
	return nil
}
