package remote_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/remote"
)

func TestTokenForMatchesOriginAndPath(t *testing.T) {
	t.Setenv("FOLIO_CREDENTIALS", filepath.Join(t.TempDir(), "creds.json"))
	t.Setenv("FOLIO_TOKEN", "")
	for prefix, token := range map[string]string{
		"https://folio.example.com":       "site",
		"https://folio.example.com/team/": "team",
		"http://h:80/":                    "h80",
	} {
		if err := remote.SaveToken(prefix, token); err != nil {
			t.Fatal(err)
		}
	}
	for url, want := range map[string]string{
		"https://folio.example.com/orders/":     "site",
		"https://folio.example.com/team/notes/": "team",
		"https://folio.example.com/teamwork/":   "site", // not under /team/
		"https://folio.example.com.evil.net/":   "",
		"https://folio.example.comx/":           "",
		"http://folio.example.com/":             "", // not over plain HTTP
		"http://h/":                             "h80",
		"http://h:8080/":                        "",
		"https://FOLIO.example.com:443/orders/": "site",
	} {
		got, err := remote.TokenFor(remote.Remote{Name: "r", URL: url})
		if err != nil || got != want {
			t.Errorf("TokenFor(%s) = %q, %v; want %q", url, got, err, want)
		}
	}
	info, err := os.Stat(os.Getenv("FOLIO_CREDENTIALS"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v (%v), want 0600", info.Mode(), err)
	}
	// A per-remote variable wins over the shared one.
	t.Setenv("FOLIO_TOKEN", "shared")
	t.Setenv("FOLIO_TOKEN_DC_2", "dc2")
	if got, _ := remote.TokenFor(remote.Remote{Name: "dc-2", URL: "https://x/"}); got != "dc2" {
		t.Errorf("per-remote token: %q", got)
	}
	if got, _ := remote.TokenFor(remote.Remote{Name: "other", URL: "https://x/"}); got != "shared" {
		t.Errorf("shared token: %q", got)
	}
}
