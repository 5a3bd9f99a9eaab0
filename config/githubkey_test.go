package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKeyPEM returns a freshly made private key in PEM form.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestGitHubPrivateKey(t *testing.T) {
	keyPEM := testKeyPEM(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	junkFile := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junkFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	certOnly := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "text", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": keyPEM}, want: keyPEM},
		{name: "text with escaped newlines",
			env:  map[string]string{"GITHUB_APP_PRIVATE_KEY": strings.ReplaceAll(keyPEM, "\n", `\n`)},
			want: keyPEM},
		{name: "path", env: map[string]string{"GITHUB_APP_PRIVATE_KEY_PATH": keyFile}, want: keyPEM},
		{name: "text wins over path",
			env:  map[string]string{"GITHUB_APP_PRIVATE_KEY": keyPEM, "GITHUB_APP_PRIVATE_KEY_PATH": junkFile},
			want: keyPEM},
		{name: "neither", wantErr: "no GitHub App private key: set GITHUB_APP_PRIVATE_KEY to the PEM text, or GITHUB_APP_PRIVATE_KEY_PATH to a file holding it"},
		{name: "missing file", env: map[string]string{"GITHUB_APP_PRIVATE_KEY_PATH": filepath.Join(dir, "nope.pem")},
			wantErr: "read GitHub App private key (GITHUB_APP_PRIVATE_KEY_PATH): open " + filepath.Join(dir, "nope.pem")},
		{name: "file not PEM", env: map[string]string{"GITHUB_APP_PRIVATE_KEY_PATH": junkFile},
			wantErr: "GitHub App private key in " + junkFile + ": not a PEM private key"},
		{name: "text not PEM", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": "hunter2"},
			wantErr: "GitHub App private key from GITHUB_APP_PRIVATE_KEY: not a PEM private key"},
		{name: "PEM but no key", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": certOnly},
			wantErr: "not a PEM private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, nil, tt.env, nil)
			got, err := c.GitHubPrivateKey()
			if tt.wantErr != "" {
				checkErr(t, err, []string{tt.wantErr}, []string{"hunter2"})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
}
