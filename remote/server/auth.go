package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// Scope is what a token allows.
type Scope string

// Token scopes.
const (
	ScopeRead      Scope = "read"
	ScopeReadWrite Scope = "read-write"
	// ScopeAdmin also opens the store API (store.go), which the CLI of a
	// served repository uses. Only folio serve makes such tokens, for its
	// serve.json, and keeps them in memory (AddAdminToken); an auth file
	// holds none.
	ScopeAdmin Scope = "admin"
)

// Token is one entry of an auth file. The token itself is never stored:
// Hash is "blake3:" and the hex BLAKE3 digest of it (tokens are long
// random strings, so a fast hash is enough). Repos lists the repositories
// it opens ("*" for all).
type Token struct {
	Name  string   `json:"name"`
	Hash  string   `json:"hash"`
	Scope Scope    `json:"scope"`
	Repos []string `json:"repos"`
	// Expires, when set, is when the token stops working.
	Expires *time.Time `json:"expires,omitempty"`
}

// AdminTokenPrefix begins the names of the admin tokens folio serve makes
// (AddAdminToken); an auth file's tokens may not take them.
const AdminTokenPrefix = "local-admin/"

// ErrTokenName: a token name that is empty, already taken, or an admin
// token's.
var ErrTokenName = errors.New("server: token names must be unique and not empty")

// Auth is the content of an auth file: tokens, and whether anyone may read
// without one.
type Auth struct {
	AnonymousRead bool         `json:"anonymous_read"`
	Tokens        []Token      `json:"tokens"`
	mu            sync.RWMutex // tokens may be added while serving

	// A server re-reads the file it loaded when it changes, keeping the
	// tokens added in memory (AddToken: serve's local-admin tokens).
	path  string
	stamp fileStamp
	added map[string]bool
}

// fileStamp tells a changed file from the one read.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// LoadAuth reads an auth file. A server using the Auth re-reads the file
// when it changes, so tokens added or removed take effect at once.
func LoadAuth(path string) (*Auth, error) {
	stamp, err := stampOf(path)
	if err != nil {
		return nil, err
	}
	a, err := readAuth(path)
	if err != nil {
		return nil, err
	}
	a.path, a.stamp = path, stamp
	return a, nil
}

// reload re-reads the auth file if it changed since it was read. If it
// cannot, the tokens stay as they were and it tries again next time.
func (a *Auth) reload() error {
	if a == nil || a.path == "" {
		return nil
	}
	stamp, err := stampOf(a.path)
	a.mu.RLock()
	same := err == nil && stamp == a.stamp
	a.mu.RUnlock()
	if same {
		return nil
	}
	if err != nil {
		return err
	}
	fresh, err := readAuth(a.path)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tokens := fresh.Tokens
	for _, t := range a.Tokens {
		if a.added[t.Name] && !slices.ContainsFunc(tokens, func(f Token) bool { return f.Name == t.Name }) {
			tokens = append(tokens, t)
		}
	}
	a.AnonymousRead, a.Tokens, a.stamp = fresh.AnonymousRead, tokens, stamp
	return nil
}

func readAuth(path string) (*Auth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a Auth
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	names := map[string]bool{}
	for _, t := range a.Tokens {
		if !strings.HasPrefix(t.Hash, "blake3:") || (t.Scope != ScopeRead && t.Scope != ScopeReadWrite) {
			return nil, fmt.Errorf("auth file %s: token %q needs a blake3: hash and scope read or read-write", path, t.Name)
		}
		if t.Name == "" || names[t.Name] || strings.HasPrefix(t.Name, AdminTokenPrefix) {
			return nil, fmt.Errorf("auth file %s: token %q: %w", path, t.Name, ErrTokenName)
		}
		names[t.Name] = true
	}
	return &a, nil
}

// Save writes an auth file readable by its owner only.
func (a *Auth) Save(path string) error {
	a.mu.RLock()
	saved := Auth{AnonymousRead: a.AnonymousRead, Tokens: slices.DeleteFunc(slices.Clone(a.Tokens), func(t Token) bool { return t.Scope == ScopeAdmin })}
	data, err := json.MarshalIndent(&saved, "", "  ")
	a.mu.RUnlock()
	if err != nil {
		return err
	}
	// A new file renamed over the old: a server re-reading it never sees
	// half of it, and nothing left at its path is written through.
	return repo.WriteFileAtomic(path, append(data, '\n'))
}

// AddToken creates a token, records its hash and returns the token, which
// is shown once and never stored. A zero expires never expires.
func (a *Auth) AddToken(name string, scope Scope, repos []string, expires time.Time) (string, error) {
	if scope != ScopeRead && scope != ScopeReadWrite {
		return "", fmt.Errorf("scope %q: want read or read-write", scope)
	}
	if strings.HasPrefix(name, AdminTokenPrefix) {
		return "", fmt.Errorf("%w: %q: names starting %q are folio serve's own", ErrTokenName, name, AdminTokenPrefix)
	}
	return a.addToken(name, scope, repos, expires)
}

// AddAdminToken creates a token of ScopeAdmin for the repositories named,
// kept in memory only (Save leaves it out); its name starts with
// AdminTokenPrefix.
func (a *Auth) AddAdminToken(name string, repos []string) (string, error) {
	return a.addToken(name, ScopeAdmin, repos, time.Time{})
}

func (a *Auth) addToken(name string, scope Scope, repos []string, expires time.Time) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: give the token a name", ErrTokenName)
	}
	if len(repos) == 0 {
		repos = []string{"*"}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := "folio_" + base64.RawURLEncoding.EncodeToString(raw[:])
	t := Token{Name: name, Hash: HashToken(token), Scope: scope, Repos: repos}
	if !expires.IsZero() {
		t.Expires = &expires
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.ContainsFunc(a.Tokens, func(t Token) bool { return t.Name == name }) {
		return "", fmt.Errorf("%w: %q exists (remove it first)", ErrTokenName, name)
	}
	a.Tokens = append(a.Tokens, t)
	if a.added == nil {
		a.added = map[string]bool{}
	}
	a.added[name] = true
	return token, nil
}

// RemoveToken forgets the token of that name.
func (a *Auth) RemoveToken(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.Tokens, func(t Token) bool { return t.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: no token named %q", objects.ErrNotFound, name)
	}
	a.Tokens = slices.Delete(a.Tokens, i, i+1)
	return nil
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := blake3.Sum256([]byte(token))
	return "blake3:" + hex.EncodeToString(sum[:])
}

// LoadOrNewAuth reads an auth file, or starts an empty one.
func LoadOrNewAuth(path string) (*Auth, error) {
	a, err := LoadAuth(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Auth{}, nil
	}
	return a, err
}

// check authorises a request for a repository and a scope. A nil Auth lets
// everything through (a server without --auth, on loopback by default).
func (a *Auth) check(r *http.Request, repoName string, need Scope) (string, error) {
	if a == nil {
		if need == ScopeAdmin && !localCommand(r) {
			return "", fmt.Errorf("%w: the store API answers only folio's commands on this machine", wire.ErrForbidden)
		}
		return "", nil
	}
	found, err := a.identify(r)
	switch {
	case errors.Is(err, errNoToken):
		a.mu.RLock()
		anonymousRead := a.AnonymousRead
		a.mu.RUnlock()
		if need == ScopeRead && anonymousRead {
			return "", nil
		}
		return "", fmt.Errorf("%w: send a token as 'Authorization: Bearer TOKEN'", wire.ErrUnauthorized)
	case err != nil:
		return "", err
	}
	if !slices.Contains(found.Repos, "*") && !slices.Contains(found.Repos, repoName) {
		return found.Name, fmt.Errorf("%w: token %q does not open this repository", wire.ErrForbidden, found.Name)
	}
	switch {
	case need == ScopeAdmin && found.Scope != ScopeAdmin:
		return found.Name, fmt.Errorf("%w: token %q does not open the store API (only the local folio serve's own token does)", wire.ErrForbidden, found.Name)
	case need == ScopeReadWrite && found.Scope == ScopeRead:
		return found.Name, fmt.Errorf("%w: token %q is read-only", wire.ErrForbidden, found.Name)
	}
	return found.Name, nil
}

// errNoToken: a request that carries no bearer token.
var errNoToken = fmt.Errorf("%w: no token", wire.ErrUnauthorized)

// identify finds the token a request carries: one the server knows and
// that has not expired.
func (a *Auth) identify(r *http.Request) (*Token, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" { // schemes are case-insensitive (RFC 9110)
		return nil, errNoToken
	}
	hash := []byte(HashToken(token))
	var found *Token
	a.mu.RLock()
	for i := range a.Tokens {
		// Compare every entry, in constant time, whatever matches.
		if subtle.ConstantTimeCompare(hash, []byte(a.Tokens[i].Hash)) == 1 {
			t := a.Tokens[i]
			found = &t
		}
	}
	a.mu.RUnlock()
	if found == nil {
		return nil, fmt.Errorf("%w: unknown token", wire.ErrUnauthorized)
	}
	if found.Expires != nil && !time.Now().Before(*found.Expires) {
		return found, fmt.Errorf("%w: token %q expired at %s", wire.ErrUnauthorized, found.Name, found.Expires.Format(time.RFC3339))
	}
	return found, nil
}

// tokenInfo answers GET PathToken: what the request's token is.
func (s *Server) tokenInfo(w http.ResponseWriter, r *http.Request) {
	if s.opts.Auth == nil {
		writeJSON(w, http.StatusOK, wire.TokenInfo{})
		return
	}
	if err := s.opts.Auth.reload(); err != nil {
		s.log.Warn("the auth file could not be read again; its tokens stay as they were", "err", err)
	}
	t, err := s.opts.Auth.identify(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.TokenInfo{Checked: true, Name: t.Name, Scope: string(t.Scope), Repos: t.Repos, Expires: t.Expires})
}

// localCommand reports a request a command on this machine made itself:
// from a loopback address, for a loopback host, not forwarded by a proxy
// (whose clients may be anywhere) and not made by a web page (which sends
// an Origin; a page whose name was made to resolve to 127.0.0.1 sends its
// own name as the host).
func localCommand(r *http.Request) bool {
	for _, h := range []string{"Origin", "Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	return isLoopback(r.RemoteAddr) && isLoopback(r.Host)
}

// isLoopback reports a loopback address or "localhost", with or without a
// port.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}
