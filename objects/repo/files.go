package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names inside a repository's .folio folder.
const (
	DirName    = ".folio"
	formatFile = "format"
	headFile   = "HEAD"
	configFile = "config.json"
	storeDir   = "db"
)

// FormatName names the repository format this build writes: format 1,
// objects hashed with BLAKE3-256, in object format 1 with commits in
// commit format 2 (which added the commit time).
const FormatName = "folio-repository 1 blake3-256 objects-2"

const formatLine = FormatName + "\n"

// legacyFormatLine is the format before commit times. This build reads it,
// and opening such a repository for writing records FormatName, so that an
// older folio, which cannot read the new commits, refuses the repository
// ("upgrade folio") instead of failing on a commit.
const legacyFormatLine = "folio-repository 1 blake3-256 objects-1\n"

// Find returns the .folio folder for a command: the --repo flag if given,
// then $FOLIO_DIR, then .folio in start or the nearest parent that has one.
// flagValue and the environment may name either the .folio folder or the
// folder that holds it.
func Find(flagValue, start string) (string, error) {
	for _, given := range []string{flagValue, os.Getenv("FOLIO_DIR")} {
		if given == "" {
			continue
		}
		abs, err := filepath.Abs(given)
		if err != nil {
			return "", err
		}
		if isRepoDir(abs) {
			return abs, nil
		}
		if isRepoDir(filepath.Join(abs, DirName)) {
			return filepath.Join(abs, DirName), nil
		}
		return "", fmt.Errorf("%w at %s", ErrNoRepository, given)
	}
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if isRepoDir(filepath.Join(dir, DirName)) {
			return filepath.Join(dir, DirName), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepository
		}
		dir = parent
	}
}

func isRepoDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, formatFile))
	return err == nil
}

// checkFormat refuses a repository whose format file this build does not know.
func checkFormat(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, formatFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w at %s", ErrNoRepository, filepath.Dir(dir))
	}
	if err != nil {
		return err
	}
	if string(data) != formatLine && string(data) != legacyFormatLine {
		return fmt.Errorf("%w: repository format %q (this folio reads %q; upgrade folio)",
			ErrUnknownRepoFormat, strings.TrimSpace(string(data)), strings.TrimSpace(formatLine))
	}
	return nil
}

// upgradeFormat records FormatName in a repository of the legacy format.
func upgradeFormat(dir string) error {
	path := filepath.Join(dir, formatFile)
	data, err := os.ReadFile(path)
	if err != nil || string(data) != legacyFormatLine {
		return err
	}
	return WriteFileAtomic(path, []byte(formatLine))
}

// WriteFileAtomic replaces a small file so that readers see the old or the
// new content, never a torn one, even if the process is killed. The file
// is new, of mode 0600 (readable by its owner only), renamed over path:
// a symlink or a file of another mode left at path is replaced, never
// written through.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Config is a flat set of dotted settings ("user.name", "remote.origin.url").
type Config map[string]string

// readConfig reads a config file; a missing file is an empty config.
func readConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	cfg := Config{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("repo: config %s: %w", path, err)
	}
	return cfg, nil
}

func writeConfig(path string, cfg Config) error {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, k := range slices.Sorted(maps.Keys(cfg)) {
		key, _ := json.Marshal(k)
		val, _ := json.Marshal(cfg[k])
		fmt.Fprintf(&buf, "  %s: %s", key, val)
		if i < len(cfg)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// KnownConfigKeys are the settings folio reads; '*' stands for one name
// (a remote's). Setting another key works but draws a warning, since a
// typo would otherwise be silently ignored.
// TestConfigKeysKnown (cmd/folio) checks that every key the code reads is
// here.
var KnownConfigKeys = []string{"user.name", "user.email", "remote.*.url", "remote.*.peer", "remote.timeout", "sync.branches"}

// IsKnownConfigKey reports whether folio reads key.
func IsKnownConfigKey(key string) bool {
	parts := strings.Split(key, ".")
	for _, known := range KnownConfigKeys {
		pattern := strings.Split(known, ".")
		if len(pattern) != len(parts) {
			continue
		}
		match := true
		for i, p := range pattern {
			match = match && (p == "*" || p == parts[i])
		}
		if match {
			return true
		}
	}
	return false
}

// ValidateConfigKey checks a config key: dotted, at least two parts.
func ValidateConfigKey(key string) error {
	parts := strings.Split(key, ".")
	if len(parts) < 2 || slices.Contains(parts, "") {
		return fmt.Errorf("%w: %q (want section.name, e.g. user.name)", ErrInvalidConfigKey, key)
	}
	for _, r := range key {
		if !(r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("%w: %q has %q", ErrInvalidConfigKey, key, r)
		}
	}
	return nil
}

// GlobalConfigPath is where settings shared by every repository of a user
// live: $FOLIO_CONFIG_GLOBAL, else the user config folder.
func GlobalConfigPath() string {
	if p := os.Getenv("FOLIO_CONFIG_GLOBAL"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "folio", "config.json")
}
