package githubtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestCreateInstallationToken(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world")
	ctx := context.Background()

	before := time.Now().Truncate(time.Second)
	tok, resp, err := newClient(t, s, appJWT(t, s)).Apps.CreateInstallationToken(ctx, 7, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	if !regexp.MustCompile(`^ghs_[A-Za-z0-9]{36}$`).MatchString(tok.GetToken()) {
		t.Errorf("token does not look like ghs_ + 36 alphanumerics (length %d)", len(tok.GetToken()))
	}
	if exp := tok.GetExpiresAt().Time; exp.Before(before.Add(time.Hour)) || exp.After(time.Now().Add(time.Hour)) {
		t.Errorf("expires_at = %v, want an hour from now", exp)
	}
	wantPerms := &github.InstallationPermissions{
		Contents: new("write"), Issues: new("write"),
		Metadata: new("read"), PullRequests: new("write"),
	}
	if diff := cmp.Diff(wantPerms, tok.GetPermissions()); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	if got := s.TokensIssued(); got != 1 {
		t.Errorf("TokensIssued = %d, want 1", got)
	}
	for _, r := range s.Requests() {
		if r.Path == "/app/installations/7/access_tokens" && (r.Auth != "Bearer" || r.Status != 201 || r.Method != "POST") {
			t.Errorf("recorded %+v", r)
		}
	}

	raw := rawCall(t, newClient(t, s, appJWT(t, s)), "POST", "app/installations/7/access_tokens", nil)
	if got, want := undecoded(t, raw, new(github.InstallationToken)), []string{"repository_selection"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}
}

func TestCreateInstallationTokenForSomeRepositories(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world")
	app := newClient(t, s, appJWT(t, s))
	ctx := context.Background()

	tok, _, err := app.Apps.CreateInstallationToken(ctx, 7, &github.InstallationTokenOptions{
		Repositories: []string{"world"},
		Permissions:  &github.InstallationPermissions{Issues: new("write")},
	})
	if err != nil {
		t.Fatalf("CreateInstallationToken: %v", err)
	}
	if got := tok.Repositories; len(got) != 1 || got[0].GetFullName() != "octo/world" || got[0].GetOwner().GetLogin() != "octo" {
		t.Errorf("repositories = %v, want octo/world", got)
	}
	if diff := cmp.Diff(&github.InstallationPermissions{Issues: new("write")}, tok.GetPermissions()); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
	c := newClient(t, s, tok.GetToken())
	if _, _, err := c.Issues.CreateComment(ctx, "octo", "world", 1, &github.IssueComment{Body: new("hi")}); err != nil {
		t.Errorf("comment on octo/world: %v", err)
	}
	_, _, err = c.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{Body: new("hi")})
	wantAPIError(t, err, http.StatusNotFound, "Not Found")
	_, _, err = c.Repositories.GetPermissionLevel(ctx, "octo", "world", "alice")
	wantAPIError(t, err, http.StatusForbidden, "Resource not accessible by integration")

	_, _, err = app.Apps.CreateInstallationToken(ctx, 7, &github.InstallationTokenOptions{Repositories: []string{"elsewhere"}})
	wantAPIError(t, err, http.StatusUnprocessableEntity,
		"There is at least one repository that does not exist or is not accessible to the parent installation.")
	_, _, err = app.Apps.CreateInstallationToken(ctx, 7, &github.InstallationTokenOptions{
		Permissions: &github.InstallationPermissions{Administration: new("write")},
	})
	wantAPIError(t, err, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
}

func TestCreateInstallationTokenErrors(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	key := appPrivateKey(t, s)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	appID := strconv.FormatInt(s.AppID, 10)
	claims := func(iat, exp time.Time, iss any) jwt.MapClaims {
		return jwt.MapClaims{"iat": iat.Unix(), "exp": exp.Unix(), "iss": iss}
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(now, now.Add(time.Minute), appID)).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		decode   = "A JSON web token could not be decoded"
		expired  = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
		tooFar   = "'Expiration time' claim ('exp') is too far in the future"
		issuedAt = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
		issuer   = "'Issuer' claim ('iss') must be an Integer"
	)
	tests := []struct {
		name         string
		credential   string
		installation int64
		status       int
		message      string
	}{
		{"iss as a number", signJWT(t, key, claims(now.Add(-time.Minute), now.Add(9*time.Minute), s.AppID)), 7, 201, ""},
		{"iss as the client ID", signJWT(t, key, claims(now, now.Add(time.Minute), s.ClientID)), 7, 201, ""},
		{"unknown installation", signJWT(t, key, claims(now, now.Add(time.Minute), appID)), 8, 404, "Not Found"},
		{"expired", signJWT(t, key, claims(now.Add(-11*time.Minute), now.Add(-time.Minute), appID)), 7, 401, expired},
		{"exp too far", signJWT(t, key, claims(now, now.Add(11*time.Minute), appID)), 7, 401, tooFar},
		{"iat in the future", signJWT(t, key, claims(now.Add(time.Minute), now.Add(5*time.Minute), appID)), 7, 401, issuedAt},
		{"no iat", signJWT(t, key, jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iss": appID}), 7, 401, issuedAt},
		{"no exp", signJWT(t, key, jwt.MapClaims{"iat": now.Unix(), "iss": appID}), 7, 401, expired},
		{"no iss", signJWT(t, key, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), 7, 401, issuer},
		{"iss not a number", signJWT(t, key, claims(now, now.Add(time.Minute), "sesame")), 7, 401, issuer},
		{"another app", signJWT(t, key, claims(now, now.Add(time.Minute), s.AppID+1)), 7, 401, decode},
		{"another key", signJWT(t, otherKey, claims(now, now.Add(time.Minute), appID)), 7, 401, decode},
		{"HS256", hs256, 7, 401, decode},
		{"not a JWT", "ghs_" + "x", 7, 401, decode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := newClient(t, s, tc.credential).Apps.CreateInstallationToken(context.Background(), tc.installation, nil)
			if tc.status == http.StatusCreated {
				if err != nil || resp.StatusCode != tc.status {
					t.Fatalf("err = %v, want 201", err)
				}
				return
			}
			wantAPIError(t, err, tc.status, tc.message)
		})
	}
}

func TestInstallationTokenAuth(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.AddInstallation(8, "other/repo")
	s.SetPermission("octo/hello", "alice", "write")
	s.SetPermission("other/repo", "alice", "write")
	ctx := context.Background()
	c := installationClient(t, s, 7)

	if _, _, err := c.Repositories.GetPermissionLevel(ctx, "OCTO", "Hello", "alice"); err != nil {
		t.Errorf("repository names are not case sensitive: %v", err)
	}
	_, _, err := c.Repositories.GetPermissionLevel(ctx, "other", "repo", "alice")
	wantAPIError(t, err, http.StatusNotFound, "Not Found")

	_, _, err = newClient(t, s, "ghs_"+"notissued").Repositories.GetPermissionLevel(ctx, "octo", "hello", "alice")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	_, _, err = newClient(t, s, appJWT(t, s)).Repositories.GetPermissionLevel(ctx, "octo", "hello", "alice")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")

	s.ExpireTokens()
	_, _, err = c.Repositories.GetPermissionLevel(ctx, "octo", "hello", "alice")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	c = installationClient(t, s, 7) // a fresh token works again
	if _, _, err := c.Repositories.GetPermissionLevel(ctx, "octo", "hello", "alice"); err != nil {
		t.Errorf("after a new token: %v", err)
	}
	s.Advance(61 * time.Minute)
	_, _, err = c.Repositories.GetPermissionLevel(ctx, "octo", "hello", "alice")
	wantAPIError(t, err, http.StatusUnauthorized, "Bad credentials")
	if got := s.TokensIssued(); got != 2 {
		t.Errorf("TokensIssued = %d, want 2", got)
	}
}

func TestAuthorizationSchemes(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	s.SetPermission("octo/hello", "alice", "read")
	tok, _, err := newClient(t, s, appJWT(t, s)).Apps.CreateInstallationToken(context.Background(), 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"token scheme", "token " + tok.GetToken(), 200},
		{"Bearer scheme", "Bearer " + tok.GetToken(), 200},
		{"no header", "", 401},
		{"Basic scheme", "Basic " + tok.GetToken(), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", s.URL+"/repos/octo/hello/collaborators/alice/permission", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	for _, r := range s.Requests() {
		if r.Path == "/repos/octo/hello/collaborators/alice/permission" && r.Status == 200 && r.Installation != 7 {
			t.Errorf("request %+v: Installation = %d, want 7", r, r.Installation)
		}
	}
}
