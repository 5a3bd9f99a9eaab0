package githubtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestGetApp(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	c := newClient(t, s, appJWT(t, s))

	app, _, err := c.Apps.Get(context.Background(), "")
	if err != nil {
		t.Fatalf("Apps.Get: %v", err)
	}
	if app.GetID() != s.AppID || app.GetSlug() != "sesame-test" || app.GetName() == "" || app.GetNodeID() == "" ||
		app.GetOwner().GetLogin() == "" || app.GetHTMLURL() != s.URL+"/apps/sesame-test" || app.GetCreatedAt().IsZero() ||
		app.GetPermissions().GetIssues() != "write" || len(app.Events) == 0 || app.GetInstallationsCount() != 1 {
		t.Errorf("app = %v", app)
	}
	raw := rawCall(t, c, "GET", "app", nil)
	if got, want := undecoded(t, raw, new(github.App)), []string{"client_id", "owner.user_view_type"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}

	tok, _, err := c.Apps.CreateInstallationToken(context.Background(), 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = newClient(t, s, tok.GetToken()).Apps.Get(context.Background(), "")
	wantAPIError(t, err, http.StatusUnauthorized, "A JSON web token could not be decoded")
}

func TestEnterpriseURLs(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	ctx := context.Background()
	app, err := github.NewClient(nil).WithAuthToken(appJWT(t, s)).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := app.Apps.CreateInstallationToken(ctx, 7, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken under /api/v3: %v", err)
	}
	c, err := github.NewClient(nil).WithAuthToken(tok.GetToken()).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	cm, _, err := c.Issues.CreateComment(ctx, "octo", "hello", 3, &github.IssueComment{Body: new("hi")})
	if err != nil {
		t.Fatalf("CreateComment under /api/v3: %v", err)
	}
	if want := fmt.Sprintf("%s/api/v3/repos/octo/hello/issues/comments/%d", s.URL, cm.GetID()); cm.GetURL() != want {
		t.Errorf("url = %q, want %q", cm.GetURL(), want)
	}
	for _, r := range s.Requests() {
		if !r.Enterprise || strings.HasPrefix(r.Path, "/api/v3") {
			t.Errorf("request %s %s: Enterprise = %v", r.Method, r.Path, r.Enterprise)
		}
	}
}

func TestFailNext(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	c := installationClient(t, s, 7)
	ctx := context.Background()
	body := &github.IssueComment{Body: new("hi")}

	s.FailNext("POST", "/repos/octo/hello/issues/", http.StatusBadGateway, "")
	s.FailNext("post", "/repos/octo/hello/issues/", http.StatusForbidden, "API rate limit exceeded for installation ID 7.")
	_, _, err := c.Issues.CreateComment(ctx, "octo", "hello", 1, body)
	wantAPIError(t, err, http.StatusBadGateway, "Bad Gateway")
	_, _, err = c.Issues.CreateComment(ctx, "octo", "hello", 1, body)
	wantAPIError(t, err, http.StatusForbidden, "API rate limit exceeded for installation ID 7.")
	if _, _, err := c.Issues.CreateComment(ctx, "octo", "hello", 1, body); err != nil {
		t.Errorf("third call: %v", err)
	}
	if n := len(s.Comments("octo/hello")); n != 1 {
		t.Errorf("%d comments stored, want 1: failed calls store nothing", n)
	}

	s.FailNext("", "/repos/", http.StatusInternalServerError, `{"message":"boom","documentation_url":"https://docs.github.com/rest","status":"500"}`)
	_, _, err = c.Issues.GetComment(ctx, "octo", "hello", 1)
	wantAPIError(t, err, http.StatusInternalServerError, "boom")
}

func TestRequestsRecordNoCredentials(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	jwt := appJWT(t, s)
	tok, _, err := newClient(t, s, jwt).Apps.CreateInstallationToken(context.Background(), 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, tok.GetToken())
	if _, _, err := c.Issues.CreateComment(context.Background(), "octo", "hello", 5, &github.IssueComment{Body: new("hello")}); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	want := githubtest.Request{Method: "POST", Path: "/repos/octo/hello/issues/5/comments", Body: `{"body":"hello"}` + "\n",
		Auth: "Bearer", Installation: 7, Status: 201}
	if diff := cmp.Diff(want, reqs[1]); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if dump := fmt.Sprintf("%+v", reqs); strings.Contains(dump, tok.GetToken()) || strings.Contains(dump, jwt) {
		t.Errorf("Requests hold a credential")
	}
}

func TestUnknownEndpoint(t *testing.T) {
	s := githubtest.NewServer(t)
	for _, path := range []string{"/repos/octo/hello/pulls/1/reviews", "/api/v3/orgs/octo", "/nothing"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
		want := map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
		if resp.StatusCode != 404 || !cmp.Equal(want, got) {
			t.Errorf("%s = %d %v", path, resp.StatusCode, got)
		}
	}
}

func TestWaitFor(t *testing.T) {
	s := githubtest.NewServer(t)
	var done atomic.Bool
	time.AfterFunc(30*time.Millisecond, func() { done.Store(true) })
	s.WaitFor(t, done.Load, 5*time.Second)
}
