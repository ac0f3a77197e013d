package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/cred"
)

// Source says where a configuration comes from. The command line fills it
// in; nothing here reads the process's environment but through Getenv.
type Source struct {
	// Path is the config file --config names; "" looks at CREDD_CONFIG,
	// then the per-OS default (DefaultPath). Only a default that does not
	// exist means zero-configuration mode: a named file must exist.
	Path   string
	Getenv func(string) string
	// AWSProfiles says whether zero-configuration mode reads the profiles
	// of the shared AWS config (AWSProfiles). Most commands that talk to a
	// running daemon need only the state dir, and reading thousands of
	// profiles is most of what they would cost; without them
	// Loaded.Config.Profiles is empty in that mode, and what Validate
	// checks against profiles is left to the daemon.
	AWSProfiles bool
	// Override applies what is set over the file (CREDD_<KEY> variables and
	// flags: the command line's, with viper) and returns what it could not
	// apply. Nil sets nothing.
	Override func(*Config) Errors
}

// Loaded is a configuration and where it came from.
type Loaded struct {
	Config Config
	// Path is the config file, found or not.
	Path string
	// FromFile is false in zero-configuration mode (no file: serve the
	// profiles of ~/.aws/config).
	FromFile bool
	// SetsStateDir says the file itself names a state_dir (an override
	// aside).
	SetsStateDir bool
	// Skipped lists ~/.aws/config profiles that zero-configuration mode
	// could not serve under their name.
	Skipped []string
	// Problems is set by LoadLenient when the configuration does not parse
	// or validate: Config is then only the part that could be read.
	Problems error
}

// Load reads the config file (or builds the zero-configuration default),
// applies the overrides, fills per-OS defaults and validates. Every
// problem is reported at once (Errors): unknown keys, values of the wrong
// kind and bad overrides together with what Validate finds. A file that
// is not YAML at all is an error of kind cred.ErrInvalid.
func Load(s Source) (Loaded, error) {
	l, problems, err := read(s)
	if err != nil {
		return l, err
	}
	if problems != nil {
		es, ok := AsErrors(problems)
		if !ok {
			return l, problems // not YAML: nothing to validate
		}
		return l, Merge(es, l.Config.Validate())
	}
	return l, l.Config.Validate()
}

// LoadLenient is Load for a command that talks to the running daemon. That
// daemon may be serving fine from an earlier version of a file now
// half-edited, so what Load would refuse is only Loaded.Problems, and the
// configuration is the best that could be made of it (state_dir from the
// file, the overrides, or the default). A file that cannot be read at
// all, or no state dir, is still an error.
func LoadLenient(s Source) (Loaded, error) {
	l, problems, err := read(s)
	if err != nil {
		return l, err
	}
	if es, ok := AsErrors(problems); ok || problems == nil {
		problems = Merge(es, l.Config.Validate())
	}
	l.Problems = problems
	return l, nil
}

// read locates and reads the configuration, applies the overrides and
// fills per-OS defaults; it does not validate. err means no configuration
// could be had at all. problems is what is wrong with it (Errors, each
// under its key, or the file is not YAML at all), while l holds the best
// that could be made of it.
func read(s Source) (l Loaded, problems error, err error) {
	path, explicit, err := FilePath(s.Path, s.Getenv)
	if err != nil {
		return Loaded{}, nil, err
	}
	l = Loaded{Path: path, Config: Default()}
	var found Errors
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		l.FromFile = true
		cfg, err := Parse(bytes.NewReader(data))
		if es, ok := AsErrors(err); ok {
			found = es
		} else if err != nil {
			problems = cred.Errorf(cred.ErrInvalid, "%s: %w", path, err)
			cfg = Salvage(data)
		}
		l.Config, l.SetsStateDir = cfg, cfg.StateDir != ""
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		if !s.AWSProfiles {
			break
		}
		if l.Config.Profiles, l.Config.DefaultProfile, l.Skipped, err = zeroConfigProfiles(s.Getenv); err != nil {
			return l, nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return l, nil, cred.Errorf(cred.ErrInvalid, "config file %s does not exist: create it (see docs/configuration.md) or drop --config/CREDD_CONFIG to serve ~/.aws/config", path)
	default:
		return l, nil, cred.Errorf(cred.ErrInvalid, "reading config: %w", err)
	}
	if s.Override != nil {
		found = append(found, s.Override(&l.Config)...)
	}
	if l.Config.StateDir == "" {
		dir, err := DefaultStateDir(s.Getenv)
		if err != nil {
			return l, nil, cred.Errorf(cred.ErrInvalid, "finding a state directory: %w; set state_dir in the config", err)
		}
		l.Config.StateDir = dir
	}
	if problems == nil && len(found) > 0 {
		problems = found
	}
	return l, problems, nil
}

// FilePath is the config file: flag (--config), then CREDD_CONFIG, then
// the per-OS default. explicit says it was named, so it must exist.
func FilePath(flag string, getenv func(string) string) (path string, explicit bool, err error) {
	if flag != "" {
		return flag, true, nil
	}
	if p := getenv("CREDD_CONFIG"); p != "" {
		return p, true, nil
	}
	path, err = DefaultPath(getenv)
	if err != nil {
		return "", false, cred.Errorf(cred.ErrInvalid, "finding the config directory: %w; pass --config", err)
	}
	return path, false, nil
}

// zeroConfigProfiles serves every profile of the shared AWS files under its
// own name; the default is AWS_PROFILE, else "default".
func zeroConfigProfiles(getenv func(string) string) (map[string]Profile, string, []string, error) {
	paths, err := AWSFiles(getenv)
	if err != nil {
		return nil, "", nil, err
	}
	files, err := awsfile.Read(paths)
	if err != nil {
		return nil, "", nil, cred.Errorf(cred.ErrInvalid, "reading the AWS config files: %w", err)
	}
	profiles, def, skipped := AWSProfiles(files.Profiles(), getenv("AWS_PROFILE"))
	return profiles, def, skipped, nil
}

// AWSFiles locates the shared AWS config and credentials files as the SDKs
// do: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/.
func AWSFiles(getenv func(string) string) (awsfile.Paths, error) {
	p := awsfile.Paths{Config: getenv("AWS_CONFIG_FILE"), Credentials: getenv("AWS_SHARED_CREDENTIALS_FILE")}
	if p.Config != "" && p.Credentials != "" {
		return p, nil
	}
	home, err := HomeDir(getenv)
	if err != nil {
		return p, fmt.Errorf("finding the home directory: %w", err)
	}
	if p.Config == "" {
		p.Config = filepath.Join(home, ".aws", "config")
	}
	if p.Credentials == "" {
		p.Credentials = filepath.Join(home, ".aws", "credentials")
	}
	return p, nil
}
