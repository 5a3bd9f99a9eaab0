package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/postgres"
)

// A one-time Slack link: opening it asks the signed-in user to confirm and changes nothing; the
// confirmation links the member and is audited; the link then works no more; an expired one never
// did; a signed-out visitor is sent to sign in first.
func TestSlackLinkPage(t *testing.T) {
	e := newEnv(t)
	adminBrowser := e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	links := postgres.NewSlackLinks(e.db)
	audit := &usersAuditLog{}
	opts := e.opts
	opts.SlackLinks, opts.Audit = links, audit
	app, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	bob.base, adminBrowser.base = srv.URL, srv.URL
	ctx := context.Background()
	token, err := links.NewSlackLink(ctx, "T_ACME", "U_BOB", "bobby")
	if err != nil {
		t.Fatal(err)
	}

	anon := &client{t: t, base: srv.URL, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if r := anon.get("/slack/link/" + token); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login?next=") {
		t.Errorf("signed out: %d %q", r.status, r.location)
	}
	page := bob.mustStatus(bob.get("/slack/link/"+token), http.StatusOK, "open the link")
	for _, want := range []string{"@bobby", "U_BOB", "T_ACME", "bob@example.com", "if someone sent you this link, do not"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the confirmation page lacks %q", want)
		}
	}
	if _, err := links.SlackLinkedUser(ctx, "T_ACME", "U_BOB"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("opening the link linked the member: %v", err)
	}
	bob.mustStatus(bob.post("/slack/link/"+token, nil), http.StatusOK, "confirm")
	if u, err := links.SlackLinkedUser(ctx, "T_ACME", "U_BOB"); err != nil || u.ID != bobUser.ID {
		t.Fatalf("after confirming: %+v %v", u, err)
	}
	if got := audit.of(sesame.AuditSlackLinked); len(got) != 1 || got[0].ActorID != bobUser.ID || got[0].Payload["slack_user"] != "U_BOB" {
		t.Errorf("audit: %+v", got)
	}
	// Used: the admin cannot take it over, nor can Bob use it again.
	adminBrowser.mustStatus(adminBrowser.post("/slack/link/"+token, nil), http.StatusNotFound, "reuse by another user")
	bob.mustStatus(bob.get("/slack/link/"+token), http.StatusNotFound, "reopen")
	if u, _ := links.SlackLinkedUser(ctx, "T_ACME", "U_BOB"); u == nil || u.ID != bobUser.ID {
		t.Errorf("the link changed hands: %+v", u)
	}
	// Expired.
	old, err := links.NewSlackLink(ctx, "T_ACME", "U_OLD", "old")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE slack_link_tokens SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	bob.mustStatus(bob.post("/slack/link/"+old, nil), http.StatusNotFound, "expired link")
	bob.mustStatus(bob.get("/slack/link/not-a-token"), http.StatusNotFound, "unknown link")
}
