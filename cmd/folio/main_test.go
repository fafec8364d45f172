package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/objects/repo/repotest"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/folio-db/folio/objects/badgerstore/damagetest"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script files")

// TestMain lets the test binary double as the folio command, so scripts run
// the real CLI code in real processes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"folio": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script (category_detail.txtar).
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			// Reproducible commits and a private global config per script.
			env.Setenv("FOLIO_AUTHOR_NAME", "Ada Lovelace")
			env.Setenv("FOLIO_AUTHOR_EMAIL", "ada@example.com")
			env.Setenv("FOLIO_AUTHOR_DATE", "2026-01-02T15:04:05+01:00")
			env.Setenv("FOLIO_CONFIG_GLOBAL", filepath.Join(env.WorkDir, ".folio-global.json"))
			env.Setenv("FOLIO_LOCK_WAIT", "200ms")
			env.Setenv("FOLIO_CREDENTIALS", filepath.Join(env.WorkDir, ".folio-credentials.json"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitserve":  waitServe,
			"gencert":    genCert,
			"legacykeys": legacyKeys,
			"damage":     damage,
		},
	})
}

// waitServe waits for the folio serve process holding repository DIR to
// announce itself, and sets VAR to its URL: waitserve DIR VAR.
func waitServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitserve DIR VAR")
	}
	path := ts.MkAbs(filepath.Join(args[0], ".folio", servedFile))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(path)
		var info servedInfo
		if err == nil && json.Unmarshal(data, &info) == nil && info.URL != "" {
			ts.Setenv(args[1], info.URL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("no folio serve announced itself in %s", path)
}

// damage flips a bit on disk in every copy of TEXT (at least 16 bytes,
// incompressible) held by the Badger files of repository DIR, as a failing
// disk would: damage DIR TEXT. The repository must not be open.
func damage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: damage DIR TEXT")
	}
	files, err := damagetest.Flip(ts.MkAbs(filepath.Join(args[0], ".folio")), []byte(args[1]))
	ts.Check(err)
	ts.Logf("flipped a bit in %v", files)
}

// genCert writes a self-signed certificate and key for 127.0.0.1 into
// DIR/cert.pem and DIR/key.pem: gencert DIR.
func genCert(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gencert DIR")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "folio test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ts.Check(err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	ts.Check(os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
}

// legacyKeys commits documents on the current branch of the repository in
// the script's folder as a folio from before the reserved-key rule could
// have stored them: legacykeys KEY=FILE...
func legacyKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: legacykeys KEY=FILE...")
	}
	docs := map[string]string{}
	for _, arg := range args {
		key, file, ok := strings.Cut(arg, "=")
		if !ok {
			ts.Fatalf("usage: legacykeys KEY=FILE...")
		}
		docs[key] = ts.ReadFile(file)
	}
	ctx := context.Background()
	r, err := repo.Open(ctx, ts.MkAbs(repo.DirName), repo.Options{})
	ts.Check(err)
	defer r.Close()
	branch, err := r.HeadRef()
	ts.Check(err)
	_, err = repotest.CommitLegacy(ctx, r, branch, docs, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ts.Check(err)
}
