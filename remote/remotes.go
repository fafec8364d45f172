package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/wire"
)

// Remote is another leader, known by name.
type Remote struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// ErrNoRemote: no remote by that name. It is a kind of objects.ErrNotFound,
// so the server reports it as not_found.
var ErrNoRemote = fmt.Errorf("remote: %w: no such remote", objects.ErrNotFound)

func urlKey(name string) string { return "remote." + name + ".url" }

// List returns the remotes of a repository, sorted by name.
func List(f *repo.Files) ([]Remote, error) {
	cfg, err := f.LocalConfig()
	if err != nil {
		return nil, err
	}
	var out []Remote
	for k, v := range cfg {
		if name, ok := strings.CutPrefix(k, "remote."); ok && strings.HasSuffix(name, ".url") {
			out = append(out, Remote{Name: strings.TrimSuffix(name, ".url"), URL: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns one remote.
func Lookup(f *repo.Files, name string) (Remote, error) {
	all, err := List(f)
	if err != nil {
		return Remote{}, err
	}
	for _, rm := range all {
		if rm.Name == name {
			return rm, nil
		}
	}
	return Remote{}, fmt.Errorf("%w %q (see 'folio remote list')", ErrNoRemote, name)
}

// ValidateName checks a remote name: one ref-name segment.
func ValidateName(name string) error {
	if err := objects.ValidateShortName(name); err != nil {
		return err
	}
	if strings.Contains(name, "/") || strings.Contains(name, ".") {
		return fmt.Errorf("%w: remote name %q: no '/' or '.'", objects.ErrInvalidRef, name)
	}
	return objects.ValidateRefName(objects.RemotePrefix + name + "/x")
}

// ValidateURL checks a remote URL.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("remote URL %q: want http://host[:port]/[path] or https://...", raw)
	}
	if u.User != nil {
		return fmt.Errorf("remote URL %q: put tokens in $FOLIO_TOKEN or 'folio login', not in the URL", raw)
	}
	return nil
}

// Add records a new remote.
func Add(f *repo.Files, name, rawURL string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := ValidateURL(rawURL); err != nil {
		return err
	}
	if _, err := Lookup(f, name); err == nil {
		return fmt.Errorf("remote %q already exists", name)
	}
	return f.SetConfig(urlKey(name), rawURL, false)
}

// Remove forgets a remote and its remote-tracking refs.
func Remove(ctx context.Context, r *repo.Repo, name string) error {
	if _, err := Lookup(r.Files, name); err != nil {
		return err
	}
	refs, err := r.Store().Refs(ctx, trackingPrefix(name))
	if err != nil {
		return err
	}
	var updates []objects.RefUpdate
	for _, ref := range refs {
		updates = append(updates, objects.RefUpdate{Name: ref.Name, Old: ref.ID})
	}
	if err := r.Store().UpdateRefs(ctx, updates...); err != nil {
		return err
	}
	return r.SetConfig(urlKey(name), "", true)
}

// SetURL points an existing remote at another URL.
func SetURL(f *repo.Files, name, rawURL string) error {
	if _, err := Lookup(f, name); err != nil {
		return err
	}
	if err := ValidateURL(rawURL); err != nil {
		return err
	}
	return f.SetConfig(urlKey(name), rawURL, false)
}

// Rename gives a remote a new name: its settings and its remote-tracking
// refs move with it (the refs in one atomic update).
func Rename(ctx context.Context, r *repo.Repo, from, to string) error {
	if _, err := Lookup(r.Files, from); err != nil {
		return err
	}
	if err := ValidateName(to); err != nil {
		return err
	}
	if _, err := Lookup(r.Files, to); err == nil {
		return fmt.Errorf("remote %q already exists", to)
	}
	refs, err := r.Store().Refs(ctx, trackingPrefix(from))
	if err != nil {
		return err
	}
	var updates []objects.RefUpdate
	for _, ref := range refs {
		moved := trackingPrefix(to) + strings.TrimPrefix(ref.Name, trackingPrefix(from))
		updates = append(updates, objects.RefUpdate{Name: ref.Name, Old: ref.ID}, objects.RefUpdate{Name: moved, New: ref.ID})
	}
	if err := r.Store().UpdateRefs(ctx, updates...); err != nil {
		return err
	}
	cfg, err := r.LocalConfig()
	if err != nil {
		return err
	}
	prefix := "remote." + from + "."
	for k, v := range cfg {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if err := r.SetConfig("remote."+to+"."+rest, v, false); err != nil {
				return err
			}
			if err := r.SetConfig(k, "", true); err != nil {
				return err
			}
		}
	}
	return nil
}

// trackingPrefix is where a remote's branches are remembered.
func trackingPrefix(remote string) string { return objects.RemotePrefix + remote + "/" }

// TrackingRef is the remote-tracking ref of a remote's branch ref.
func TrackingRef(remote, branchRef string) string {
	return trackingPrefix(remote) + strings.TrimPrefix(branchRef, objects.BranchPrefix)
}

// CredentialsPath is the file of stored tokens: $FOLIO_CREDENTIALS, else
// credentials.json in the user's config folder.
func CredentialsPath() string {
	if p := os.Getenv("FOLIO_CREDENTIALS"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "folio", "credentials.json")
}

// TokenFor finds the token for a remote: $FOLIO_TOKEN_<NAME> (the
// remote's name in upper case, '-' as '_'), then $FOLIO_TOKEN, then the
// token stored for the longest URL prefix that matches: same scheme, host
// and port, and a path that starts with the prefix's path on a '/'
// boundary, so a token for https://a.example/ never goes to
// https://a.example.evil/. No token is not an error: the server may allow
// anonymous reads.
func TokenFor(rm Remote) (string, error) {
	envName := "FOLIO_TOKEN_" + strings.ToUpper(strings.ReplaceAll(rm.Name, "-", "_"))
	if t := os.Getenv(envName); t != "" {
		return t, nil
	}
	if t := os.Getenv("FOLIO_TOKEN"); t != "" {
		return t, nil
	}
	creds, err := readCredentials()
	if err != nil {
		return "", err
	}
	target, err := url.Parse(rm.URL)
	if err != nil {
		return "", err
	}
	best, token := -1, ""
	for prefix, t := range creds {
		p, err := url.Parse(prefix)
		if err != nil || !sameOrigin(p, target) {
			continue
		}
		path := strings.TrimSuffix(p.Path, "/") + "/"
		if strings.HasPrefix(strings.TrimSuffix(target.Path, "/")+"/", path) && len(path) > best {
			best, token = len(path), t
		}
	}
	return token, nil
}

// sameOrigin compares scheme, host and port (the default port if none).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func readCredentials() (map[string]string, error) {
	path := CredentialsPath()
	creds := map[string]string{}
	if path == "" {
		return creds, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return creds, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	return creds, nil
}

// ErrTokenRefused: the server would not take the token login was given.
var ErrTokenRefused = errors.New("remote: the server refused the token")

// Login checks a token with the server at url (a repository's URL, or the
// root of a server of many) and stores it for url, as SaveToken does, only
// if the server takes it. It returns what the server says of the token.
func Login(ctx context.Context, url, token string, opts Options) (*wire.TokenInfo, error) {
	if err := ValidateURL(url); err != nil {
		return nil, err
	}
	c, err := client.New(url, client.Options{Token: token, HTTP: opts.HTTP, Timeouts: opts.Timeouts})
	if err != nil {
		return nil, err
	}
	info, err := c.Token(ctx)
	switch {
	case errors.Is(err, wire.ErrUnauthorized) || errors.Is(err, wire.ErrForbidden):
		return nil, fmt.Errorf("%w: %s; nothing was stored", ErrTokenRefused, strings.TrimPrefix(wire.UserMessage(err), "unauthorized: "))
	case err != nil:
		return nil, fmt.Errorf("checking the token with %s: %w; nothing was stored", url, err)
	}
	return info, SaveToken(url, token)
}

// SaveToken stores a token for a URL prefix, in a file only its owner can read.
func SaveToken(urlPrefix, token string) error {
	if err := ValidateURL(urlPrefix); err != nil {
		return err
	}
	creds, err := readCredentials()
	if err != nil {
		return err
	}
	creds[urlPrefix] = token
	path := CredentialsPath()
	if path == "" {
		return fmt.Errorf("no user config folder: set FOLIO_CREDENTIALS")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600) // WriteFile keeps an existing file's mode
}
