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
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/folio-db/folio/remote/wire"
)

// Scope is what a token allows.
type Scope string

// Token scopes.
const (
	ScopeRead      Scope = "read"
	ScopeReadWrite Scope = "read-write"
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
}

// Auth is the content of an auth file: tokens, and whether anyone may read
// without one.
type Auth struct {
	AnonymousRead bool         `json:"anonymous_read"`
	Tokens        []Token      `json:"tokens"`
	mu            sync.RWMutex // tokens may be added while serving
}

// LoadAuth reads an auth file.
func LoadAuth(path string) (*Auth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a Auth
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	for _, t := range a.Tokens {
		if !strings.HasPrefix(t.Hash, "blake3:") || (t.Scope != ScopeRead && t.Scope != ScopeReadWrite) {
			return nil, fmt.Errorf("auth file %s: token %q needs a blake3: hash and scope read or read-write", path, t.Name)
		}
	}
	return &a, nil
}

// Save writes an auth file readable by its owner only.
func (a *Auth) Save(path string) error {
	a.mu.RLock()
	data, err := json.MarshalIndent(a, "", "  ")
	a.mu.RUnlock()
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// AddToken creates a token, records its hash and returns the token, which
// is shown once and never stored.
func (a *Auth) AddToken(name string, scope Scope, repos []string) (string, error) {
	if scope != ScopeRead && scope != ScopeReadWrite {
		return "", fmt.Errorf("scope %q: want read or read-write", scope)
	}
	if len(repos) == 0 {
		repos = []string{"*"}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := "folio_" + base64.RawURLEncoding.EncodeToString(raw[:])
	a.mu.Lock()
	a.Tokens = append(a.Tokens, Token{Name: name, Hash: HashToken(token), Scope: scope, Repos: repos})
	a.mu.Unlock()
	return token, nil
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
		return "", nil
	}
	header := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		if need == ScopeRead && a.AnonymousRead {
			return "", nil
		}
		return "", fmt.Errorf("%w: send a token as 'Authorization: Bearer TOKEN'", wire.ErrUnauthorized)
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
		return "", fmt.Errorf("%w: unknown token", wire.ErrUnauthorized)
	}
	if !slices.Contains(found.Repos, "*") && !slices.Contains(found.Repos, repoName) {
		return found.Name, fmt.Errorf("%w: token %q does not open this repository", wire.ErrForbidden, found.Name)
	}
	if need == ScopeReadWrite && found.Scope != ScopeReadWrite {
		return found.Name, fmt.Errorf("%w: token %q is read-only", wire.ErrForbidden, found.Name)
	}
	return found.Name, nil
}
