package githubtest_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// appPrivateKey parses the server's PEM key the way a bot would.
func appPrivateKey(t *testing.T, s *githubtest.Server) *rsa.PrivateKey {
	t.Helper()
	k, err := jwt.ParseRSAPrivateKeyFromPEM(s.PrivateKeyPEM)
	if err != nil {
		t.Fatalf("parse PrivateKeyPEM: %v", err)
	}
	return k
}

// signJWT signs claims with key using RS256.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign JWT: %v", err)
	}
	return signed
}

// appJWT is the JWT GitHub's docs describe: iat 60s in the past, exp 10
// minutes ahead, iss the app ID as a string.
func appJWT(t *testing.T, s *githubtest.Server) string {
	t.Helper()
	now := time.Now()
	return signJWT(t, appPrivateKey(t, s), jwt.MapClaims{
		"iat": now.Add(-60 * time.Second).Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
		"iss": strconv.FormatInt(s.AppID, 10),
	})
}

// newClient is a real go-github client for the server, sending
// "Authorization: Bearer <credential>", or no Authorization header when
// credential is "" (go-github v66 would send "Bearer " with nothing after it).
func newClient(t *testing.T, s *githubtest.Server, credential string) *github.Client {
	t.Helper()
	c := github.NewClient(nil)
	if credential != "" {
		c = c.WithAuthToken(credential)
	}
	base, err := url.Parse(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = base
	return c
}

// installationClient gets an installation token through
// Apps.CreateInstallationToken and returns a client that uses it.
func installationClient(t *testing.T, s *githubtest.Server, installationID int64) *github.Client {
	t.Helper()
	tok, _, err := newClient(t, s, appJWT(t, s)).Apps.CreateInstallationToken(context.Background(), installationID, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken(%d): %v", installationID, err)
	}
	return newClient(t, s, tok.GetToken())
}

// wantAPIError checks that err is GitHub's error with that status and message.
func wantAPIError(t *testing.T, err error, status int, message string) *github.ErrorResponse {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("error = %v (%T), want *github.ErrorResponse", err, err)
	}
	if er.Response.StatusCode != status || er.Message != message {
		t.Fatalf("error = %d %q, want %d %q", er.Response.StatusCode, er.Message, status, message)
	}
	if er.DocumentationURL == "" {
		t.Errorf("error has no documentation_url")
	}
	return er
}

// rawCall makes a request through the go-github client and returns the raw
// JSON answer.
func rawCall(t *testing.T, c *github.Client, method, path string, body any) []byte {
	t.Helper()
	req, err := c.NewRequest(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.Do(context.Background(), req, &buf); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return buf.Bytes()
}

// undecoded decodes raw into v, the go-github type of the answer, and
// returns the paths of the fields of raw that v did not keep (null and empty
// values aside): the fields go-github does not decode.
func undecoded(t *testing.T, raw []byte, v any) []string {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
	back, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var sent, kept any
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &kept); err != nil {
		t.Fatal(err)
	}
	var out []string
	diffKeys("", sent, kept, &out)
	sort.Strings(out)
	return out
}

func diffKeys(path string, sent, kept any, out *[]string) {
	switch s := sent.(type) {
	case map[string]any:
		k, _ := kept.(map[string]any)
		for key, v := range s {
			if isEmptyJSON(v) {
				continue
			}
			kv, ok := k[key]
			if !ok {
				*out = append(*out, path+key)
				continue
			}
			diffKeys(path+key+".", v, kv, out)
		}
	case []any:
		k, _ := kept.([]any)
		for i, v := range s {
			if i < len(k) {
				diffKeys(path+"[].", v, k[i], out)
			}
		}
	}
}

func isEmptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// tokenFor issues an installation token through Apps.CreateInstallationToken.
func tokenFor(t *testing.T, s *githubtest.Server, installationID int64) string {
	t.Helper()
	tok, _, err := newClient(t, s, appJWT(t, s)).Apps.CreateInstallationToken(context.Background(), installationID, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken(%d): %v", installationID, err)
	}
	return tok.GetToken()
}
