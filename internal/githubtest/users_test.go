package githubtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestGetAuthenticatedUser(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddUserToken("ghp_alice", "alice")
	s.AddUserToken("github_pat_bob", "Bob")
	ctx := context.Background()

	u, resp, err := newClient(t, s, "ghp_alice").Users.Get(ctx, "")
	if err != nil {
		t.Fatalf("Users.Get: %v", err)
	}
	if u.GetLogin() != "alice" || u.GetID() == 0 || u.GetNodeID() == "" || u.GetType() != "User" ||
		u.GetHTMLURL() != s.URL+"/alice" || u.GetURL() != s.URL+"/users/alice" || u.GetCreatedAt().IsZero() {
		t.Errorf("user = %v", u)
	}
	if _, ok := resp.Header["X-Oauth-Scopes"]; !ok {
		t.Errorf("no X-OAuth-Scopes header, which GitHub sends for a personal access token")
	}
	bob, _, err := newClient(t, s, "github_pat_bob").Users.Get(ctx, "")
	if err != nil || bob.GetLogin() != "Bob" || bob.GetID() == u.GetID() {
		t.Errorf("second token: %v, %v; want Bob, another id", bob, err)
	}

	raw := rawCall(t, newClient(t, s, "ghp_alice"), "GET", "user", nil)
	if got, want := slices.Compact(undecoded(t, raw, new(github.User))), []string{"user_view_type"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}

	// The "token" scheme and HTTP Basic with the token as the password work too.
	for name, set := range map[string]func(*http.Request){
		"token": func(r *http.Request) { r.Header.Set("Authorization", "token ghp_alice") },
		"basic": func(r *http.Request) { r.SetBasicAuth("alice", "ghp_alice") },
	} {
		req, _ := http.NewRequest("GET", s.URL+"/user", nil)
		set(req)
		status, body := do(t, req)
		if status != http.StatusOK || body["login"] != "alice" {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
}

func TestGetAuthenticatedUserRefused(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddUserToken("ghp_alice", "alice")
	ctx := context.Background()

	_, _, err := newClient(t, s, "ghp_nobody").Users.Get(ctx, "")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	req, _ := http.NewRequest("GET", s.URL+"/user", nil)
	req.Header.Set("Authorization", "token ghp_nobody")
	status, body := do(t, req)
	want := map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
	if status != http.StatusUnauthorized || !cmp.Equal(body, want) {
		t.Errorf("unknown token: %d %v, want 401 %v", status, body, want)
	}

	_, _, err = newClient(t, s, tokenFor(t, s, 7)).Users.Get(ctx, "")
	wantAPIError(t, err, http.StatusForbidden, "Resource not accessible by integration")
	_, _, err = newClient(t, s, appJWT(t, s)).Users.Get(ctx, "")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	_, _, err = newClient(t, s, "").Users.Get(ctx, "")
	wantAPIError(t, err, http.StatusUnauthorized, "Requires authentication")

	for _, r := range s.Requests() {
		if r.Path == "/user" && r.Auth != "" && r.Auth != "Bearer" && r.Auth != "token" {
			t.Errorf("recorded Auth %q: more than the scheme", r.Auth)
		}
	}
}

// do sends req and decodes the JSON object it answers with.
func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return resp.StatusCode, out
}
