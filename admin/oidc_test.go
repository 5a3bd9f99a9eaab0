package admin_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/internal/oidctest"
)

const (
	oidcClientID     = "sesame-web"
	oidcClientSecret = "client-secret-of-sesame"
)

// oidcEnv is the web app, served at its BASE_URL, with sign-in through the test provider.
type oidcEnv struct {
	*env
	idp   *oidctest.Server
	audit *usersAuditLog
	base  string // BASE_URL: where the app is served
}

// newOIDCEnv serves the web app at a BASE_URL known before it starts (the provider sends browsers
// back to BASE_URL), with OIDC on and pointed at a fresh test provider, then sets up the first admin.
// extraEnv adds or replaces environment variables.
func newOIDCEnv(t *testing.T, extraEnv ...string) *oidcEnv {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	idp := oidctest.NewServer(t, oidcClientID, oidcClientSecret)
	idp.AllowRedirectURIs(base + "/auth/oidc/oidc/callback")
	vars := append([]string{"BASE_URL=" + base, "OIDC_ENABLED=true", "OIDC_PROVIDER_NAME=Acme SSO",
		"OIDC_CLIENT_ID=" + oidcClientID, "OIDC_CLIENT_SECRET=" + oidcClientSecret, "OIDC_ISSUER=" + idp.URL}, extraEnv...)
	e := newEnv(t, vars...)
	oe := &oidcEnv{env: e, idp: idp, audit: &usersAuditLog{}, base: base}
	e.opts.Audit = oe.audit
	web, err := admin.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(web)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	e.setUp(t)
	return oe
}

// getURL fetches an absolute URL (the provider's, or Sesame's callback) in c's browser.
func (c *client) getURL(u string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// startOIDC follows the sign-in button to the provider and the provider's answer back; it returns
// the callback URL the provider sent the browser to, not yet visited.
func (oe *oidcEnv) startOIDC(t *testing.T, c *client, next string) string {
	t.Helper()
	start := "/auth/oidc/oidc"
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	r := c.get(start)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, oe.idp.AuthorizationEndpoint()+"?") {
		t.Fatalf("start: status %d, location %q; body:\n%s", r.status, r.location, snippet(r.body))
	}
	r = c.getURL(r.location)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, oe.base+"/auth/oidc/oidc/callback?") {
		t.Fatalf("provider: status %d, location %q; body:\n%s", r.status, r.location, snippet(r.body))
	}
	return r.location
}

// oidcSignIn goes through the whole sign-in in c's browser and returns Sesame's last answer.
func (oe *oidcEnv) oidcSignIn(t *testing.T, c *client, next string) response {
	t.Helper()
	return c.getURL(oe.startOIDC(t, c, next))
}

// signedInAs reports whom c's browser is signed in as ("" for nobody), from the settings page.
func (oe *oidcEnv) signedIn(t *testing.T, c *client) bool {
	t.Helper()
	r := c.get("/settings")
	switch r.status {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	t.Fatalf("/settings: status %d", r.status)
	return false
}

func (oe *oidcEnv) userCount(t *testing.T) int {
	t.Helper()
	n, err := oe.users.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// events returns the audited events of action, in order.
func (oe *oidcEnv) events(action sesame.AuditAction) []sesame.AuditEvent {
	got, _ := oe.audit.AuditEvents(context.Background(), sesame.AuditFilter{Action: action})
	return got
}

// oidcEvents are the events of action through OIDC (payload method "oidc").
func (oe *oidcEnv) oidcEvents(action sesame.AuditAction) []sesame.AuditEvent {
	var out []sesame.AuditEvent
	for _, e := range oe.events(action) {
		if e.Payload["method"] == "oidc" {
			out = append(out, e)
		}
	}
	return out
}

func withQuery(t *testing.T, raw string, change func(url.Values)) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	change(q)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestOIDCSignInCreatesTheUserOnce: the first sign-in of someone unknown whose address the provider
// verified creates a user (role user, no password), audited as a registration through OIDC, and lands
// where they were going; the next sign-in finds the same user by their identity. Sesame asks with
// the code flow, PKCE S256, a state, a nonce, the configured scopes and the registered redirect URL.
func TestOIDCSignInCreatesTheUserOnce(t *testing.T) {
	oe := newOIDCEnv(t)
	oe.idp.SetUser(&oidctest.User{Subject: "grace-1", Email: "Grace@Example.com", EmailVerified: true, Name: "Grace Hopper"})
	before := oe.userCount(t)

	c := oe.client(t)
	r := oe.oidcSignIn(t, c, "/tasks/new")
	if r.status != http.StatusSeeOther || r.location != "/tasks/new" {
		t.Fatalf("callback: status %d, location %q; body:\n%s", r.status, r.location, snippet(r.body))
	}
	if !oe.signedIn(t, c) {
		t.Fatal("not signed in after the callback")
	}
	u, err := oe.users.UserByEmail(context.Background(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Grace Hopper" || u.Role != sesame.RoleUser || u.PasswordHash != "" || u.EmailVerifiedAt.IsZero() {
		t.Errorf("created %+v", u)
	}
	if n := oe.userCount(t); n != before+1 {
		t.Errorf("%d users, want %d", n, before+1)
	}

	reqs := oe.idp.AuthRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests", len(reqs))
	}
	ar := reqs[0]
	if ar.ResponseType != "code" || ar.CodeChallengeMethod != "S256" || len(ar.CodeChallenge) != 43 || len(ar.State) < 20 ||
		len(ar.Nonce) < 20 || ar.Scope != "openid profile email" || ar.RedirectURI != oe.base+"/auth/oidc/oidc/callback" || ar.ClientID != oidcClientID {
		t.Errorf("authorization request %+v", ar)
	}

	reg := oe.oidcEvents(sesame.AuditRegistered)
	if len(reg) != 1 || reg[0].Payload["method"] != "oidc" || reg[0].ActorID != u.ID {
		t.Errorf("registrations audited: %+v", reg)
	}
	if got := oe.events(sesame.AuditSignIn); len(got) != 1 || got[0].Payload["method"] != "oidc" || got[0].ActorID != u.ID {
		t.Errorf("sign-ins audited: %+v", got)
	}
	if got := oe.events(sesame.AuditSessionCreated); len(got) < 2 { // the admin's at setup, then Grace's
		t.Errorf("sessions audited: %+v", got)
	}

	// Again, in another browser: the same user, nobody new.
	c2 := oe.client(t)
	if r := oe.oidcSignIn(t, c2, ""); r.status != http.StatusSeeOther || r.location != "/tasks" {
		t.Fatalf("second sign-in: status %d, location %q", r.status, r.location)
	}
	if n := oe.userCount(t); n != before+1 {
		t.Errorf("after the second sign-in: %d users, want %d", n, before+1)
	}
	if got := oe.oidcEvents(sesame.AuditRegistered); len(got) != 1 {
		t.Errorf("registered twice: %+v", got)
	}
	if got := oe.events(sesame.AuditSignIn); len(got) != 2 || got[1].ActorID != u.ID {
		t.Errorf("second sign-in audited as %+v", got)
	}

	// Where to go afterwards is a path on this site, never another one.
	c3 := oe.client(t)
	if r := oe.oidcSignIn(t, c3, "//evil.example/x"); r.location != "/tasks" {
		t.Errorf("next=//evil.example/x led to %q", r.location)
	}
	// A user without a password cannot sign in with an empty one.
	c4 := oe.client(t)
	c4.mustStatus(c4.post("/login", url.Values{"email": {"grace@example.com"}, "password": {""}}), http.StatusUnauthorized, "password sign-in without a password")
}

// TestOIDCLinksByVerifiedEmail: someone whose verified address is an existing user's signs in as
// that user, the identity is linked (audited), and from then on the identity finds them even when
// their address at the provider changes. An address verified only in userinfo counts.
func TestOIDCLinksByVerifiedEmail(t *testing.T) {
	oe := newOIDCEnv(t)
	_, bob := oe.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	before := oe.userCount(t)
	oe.idp.SetUser(&oidctest.User{Subject: "bob-at-acme", Email: "BOB@example.com", EmailVerified: true, Name: "Robert"})

	c := oe.client(t)
	if r := oe.oidcSignIn(t, c, ""); r.status != http.StatusSeeOther {
		t.Fatalf("callback: status %d; body:\n%s", r.status, snippet(r.body))
	}
	if !oe.signedIn(t, c) {
		t.Fatal("not signed in")
	}
	linked := oe.events(sesame.AuditIdentityLinked)
	if len(linked) != 1 || linked[0].ActorID != bob.ID || linked[0].Payload["subject"] != "bob-at-acme" || linked[0].Payload["issuer"] != oe.idp.URL {
		t.Errorf("links audited: %+v", linked)
	}
	if got := oe.events(sesame.AuditSignIn); len(got) == 0 || got[len(got)-1].ActorID != bob.ID {
		t.Errorf("sign-in audited as %+v, want bob", got)
	}
	if n := oe.userCount(t); n != before {
		t.Errorf("%d users, want %d", n, before)
	}
	u, err := oe.users.UserByIdentity(context.Background(), sesame.Identity{Provider: "oidc", Issuer: oe.idp.URL, Subject: "bob-at-acme"})
	if err != nil || u.ID != bob.ID {
		t.Fatalf("identity: %v, %v", u, err)
	}
	if !bob.EmailVerifiedAt.IsZero() || u.EmailVerifiedAt.IsZero() {
		t.Errorf("bob's address confirmed at %v before the link, %v after; want never, then now", bob.EmailVerifiedAt, u.EmailVerifiedAt)
	}

	// Bob's address at the provider changes, unverified: his identity still finds him.
	oe.idp.SetUser(&oidctest.User{Subject: "bob-at-acme", Email: "robert@elsewhere.example", EmailVerified: false})
	c2 := oe.client(t)
	if r := oe.oidcSignIn(t, c2, ""); r.status != http.StatusSeeOther || !oe.signedIn(t, c2) {
		t.Fatalf("sign-in by identity: status %d; body:\n%s", r.status, snippet(r.body))
	}
	if got := oe.events(sesame.AuditSignIn); got[len(got)-1].ActorID != bob.ID {
		t.Errorf("signed in as %s, want bob", got[len(got)-1].ActorID)
	}

	// Carol's provider puts her address only in userinfo.
	_, carol := oe.addUser(t, "Carol", "carol@example.com", sesame.RoleUser)
	oe.idp.SetUser(&oidctest.User{Subject: "carol-at-acme", Email: "carol@example.com", EmailVerified: true})
	oe.idp.SetQuirks(oidctest.Quirks{EmailInUserinfoOnly: true})
	c3 := oe.client(t)
	if r := oe.oidcSignIn(t, c3, ""); r.status != http.StatusSeeOther {
		t.Fatalf("userinfo-only sign-in: status %d; body:\n%s", r.status, snippet(r.body))
	}
	if got := oe.events(sesame.AuditSignIn); got[len(got)-1].ActorID != carol.ID {
		t.Errorf("signed in as %s, want carol", got[len(got)-1].ActorID)
	}
	// A userinfo answer about someone else is refused.
	oe.idp.SetUser(&oidctest.User{Subject: "mallory", Email: "carol@example.com", EmailVerified: true})
	oe.idp.SetQuirks(oidctest.Quirks{EmailInUserinfoOnly: true, UserinfoSubject: "carol-at-acme"})
	c4 := oe.client(t)
	if r := oe.oidcSignIn(t, c4, ""); r.status != http.StatusUnauthorized || oe.signedIn(t, c4) {
		t.Errorf("userinfo about another subject: status %d; body:\n%s", r.status, snippet(r.body))
	}
}

// TestOIDCRefusesUnverifiedEmail: an address the provider did not verify never links to the account
// that has it, nor makes a new account; nobody is signed in and each refusal is audited.
func TestOIDCRefusesUnverifiedEmail(t *testing.T) {
	oe := newOIDCEnv(t)
	_, dan := oe.addUser(t, "Dan", "dan@example.com", sesame.RoleAdmin)
	before := oe.userCount(t)
	for _, tt := range []struct {
		name, email string
		quirks      oidctest.Quirks
		want        string
	}{
		{name: "an existing user's address", email: "dan@example.com", want: "has not confirmed that this address is yours"},
		{name: "an existing user's address, in userinfo", email: "dan@example.com", quirks: oidctest.Quirks{EmailInUserinfoOnly: true},
			want: "has not confirmed that this address is yours"},
		{name: "a new address", email: "eve@example.com", want: "did not make an account"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			oe.idp.SetUser(&oidctest.User{Subject: "attacker", Email: tt.email, EmailVerified: false, Name: "Eve"})
			oe.idp.SetQuirks(tt.quirks)
			c := oe.client(t)
			r := oe.oidcSignIn(t, c, "")
			if r.status != http.StatusForbidden || !strings.Contains(r.body, tt.want) {
				t.Errorf("status %d; body:\n%s", r.status, snippet(r.body))
			}
			if oe.signedIn(t, c) {
				t.Error("signed in")
			}
		})
	}
	if n := oe.userCount(t); n != before {
		t.Errorf("%d users, want %d", n, before)
	}
	if _, err := oe.users.UserByIdentity(context.Background(), sesame.Identity{Provider: "oidc", Issuer: oe.idp.URL, Subject: "attacker"}); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("the unverified identity was recorded: %v", err)
	}
	if got := oe.events(sesame.AuditIdentityLinked); len(got) != 0 {
		t.Errorf("linked: %+v", got)
	}
	failed := oe.events(sesame.AuditSignInFailed)
	if len(failed) != 3 || failed[0].ResourceID != dan.ID || failed[0].Payload["method"] != "oidc" {
		t.Errorf("refusals audited: %+v", failed)
	}
}

// TestOIDCRefusesBadIDTokens: an ID token with a wrong nonce, audience, issuer or signature, or
// expired, or none at all, signs nobody in, creates nobody, and says so plainly.
func TestOIDCRefusesBadIDTokens(t *testing.T) {
	oe := newOIDCEnv(t)
	oe.idp.SetUser(&oidctest.User{Subject: "frank", Email: "frank@example.com", EmailVerified: true})
	before := oe.userCount(t)
	for _, tt := range []struct {
		name   string
		quirks oidctest.Quirks
		status int
		want   string
	}{
		{"bad nonce", oidctest.Quirks{BadNonce: true}, http.StatusUnauthorized, "was not issued for this sign-in"},
		{"no nonce", oidctest.Quirks{NoNonce: true}, http.StatusUnauthorized, "was not issued for this sign-in"},
		{"wrong audience", oidctest.Quirks{WrongAudience: true}, http.StatusUnauthorized, "could not be verified"},
		{"wrong issuer", oidctest.Quirks{WrongIssuer: true}, http.StatusUnauthorized, "could not be verified"},
		{"expired", oidctest.Quirks{Expired: true}, http.StatusUnauthorized, "had expired"},
		{"signed by another key", oidctest.Quirks{BadSignature: true}, http.StatusUnauthorized, "could not be verified"},
		{"no ID token", oidctest.Quirks{NoIDToken: true}, http.StatusBadGateway, "without an ID token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			oe.idp.SetQuirks(tt.quirks)
			c := oe.client(t)
			r := oe.oidcSignIn(t, c, "")
			if r.status != tt.status || !strings.Contains(r.body, tt.want) || !strings.Contains(r.body, "Sign in with Acme SSO") {
				t.Errorf("status %d, want %d with %q and the button again; body:\n%s", r.status, tt.status, tt.want, snippet(r.body))
			}
			if oe.signedIn(t, c) {
				t.Error("signed in")
			}
		})
	}
	if n := oe.userCount(t); n != before {
		t.Errorf("%d users, want %d", n, before)
	}
	if got := oe.events(sesame.AuditSignInFailed); len(got) != 7 {
		t.Errorf("%d refusals audited, want 7: %+v", len(got), got)
	}
	// The same provider, behaving, signs Frank in: the refusals were the quirks'.
	oe.idp.SetQuirks(oidctest.Quirks{})
	c := oe.client(t)
	if r := oe.oidcSignIn(t, c, ""); r.status != http.StatusSeeOther || !oe.signedIn(t, c) {
		t.Fatalf("a good token: status %d; body:\n%s", r.status, snippet(r.body))
	}
}

// TestOIDCChecksStateAndPKCE: a callback whose state is not the one this browser started with, one
// with no sign-in started, or one replayed after it was used, is refused; a code obtained in
// another browser's sign-in (its PKCE challenge) cannot finish this browser's, because the verifier
// this browser holds does not match; the provider refuses a code without a verifier.
func TestOIDCChecksStateAndPKCE(t *testing.T) {
	oe := newOIDCEnv(t)
	oe.idp.SetUser(&oidctest.User{Subject: "gina", Email: "gina@example.com", EmailVerified: true})

	t.Run("wrong state", func(t *testing.T) {
		c := oe.client(t)
		cb := oe.startOIDC(t, c, "")
		r := c.getURL(withQuery(t, cb, func(q url.Values) { q.Set("state", "forged") }))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "was not started in this browser") {
			t.Errorf("status %d; body:\n%s", r.status, snippet(r.body))
		}
		// The pending sign-in was used up by the attempt: the genuine callback is refused too.
		if r := c.getURL(cb); r.status != http.StatusBadRequest || oe.signedIn(t, c) {
			t.Errorf("genuine callback after a forged one: status %d", r.status)
		}
	})
	t.Run("no sign-in started in this browser", func(t *testing.T) {
		cb := oe.startOIDC(t, oe.client(t), "")
		other := oe.client(t)
		if r := other.getURL(cb); r.status != http.StatusBadRequest || oe.signedIn(t, other) {
			t.Errorf("status %d; body:\n%s", r.status, snippet(r.body))
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		c := oe.client(t)
		cb := oe.startOIDC(t, c, "")
		if r := c.getURL(cb); r.status != http.StatusSeeOther {
			t.Fatalf("first use: status %d; body:\n%s", r.status, snippet(r.body))
		}
		c.mustStatus(c.post("/logout", nil), http.StatusSeeOther, "sign out")
		if r := c.getURL(cb); r.status != http.StatusBadRequest || oe.signedIn(t, c) {
			t.Errorf("replay: status %d", r.status)
		}
	})
	t.Run("code from another browser's sign-in", func(t *testing.T) {
		victim, attacker := oe.client(t), oe.client(t)
		victimCB := oe.startOIDC(t, victim, "")
		attackerCB := oe.startOIDC(t, attacker, "")
		stolen, _ := url.Parse(attackerCB)
		injected := withQuery(t, victimCB, func(q url.Values) { q.Set("code", stolen.Query().Get("code")) })
		r := victim.getURL(injected)
		if r.status != http.StatusBadGateway || !strings.Contains(r.body, "invalid_grant") || oe.signedIn(t, victim) {
			t.Errorf("status %d; body:\n%s", r.status, snippet(r.body))
		}
		errs := oe.idp.TokenErrors()
		if len(errs) != 1 || !strings.Contains(errs[0], "code verifier does not match") {
			t.Errorf("token errors %q", errs)
		}
	})
	t.Run("the provider requires the verifier", func(t *testing.T) {
		cb := oe.startOIDC(t, oe.client(t), "")
		u, _ := url.Parse(cb)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
			"redirect_uri": {oe.base + "/auth/oidc/oidc/callback"}, "client_id": {oidcClientID}, "client_secret": {oidcClientSecret}}
		res, err := http.PostForm(oe.idp.TokenEndpoint(), form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("token without a verifier: status %d", res.StatusCode)
		}
	})
}

// TestOIDCSignUpOffAndBans: with OIDC_ALLOW_SIGNUP off (saved by an admin, read live) someone
// unknown is refused and nobody is created, while an existing user is still linked by verified
// email; a banned user is refused, by identity or by email.
func TestOIDCSignUpOffAndBans(t *testing.T) {
	oe := newOIDCEnv(t)
	ctx := context.Background()
	_, hal := oe.addUser(t, "Hal", "hal@example.com", sesame.RoleUser)
	if err := oe.opts.Settings.SaveSetting(ctx, "oidc.allowSignUp", "false", "test"); err != nil {
		t.Fatal(err)
	}
	before := oe.userCount(t)

	oe.idp.SetUser(&oidctest.User{Subject: "ivy", Email: "ivy@example.com", EmailVerified: true})
	c := oe.client(t)
	r := oe.oidcSignIn(t, c, "")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "new accounts cannot be made through Acme SSO") || oe.signedIn(t, c) {
		t.Errorf("unknown user with sign-up off: status %d; body:\n%s", r.status, snippet(r.body))
	}
	if n := oe.userCount(t); n != before {
		t.Errorf("%d users, want %d", n, before)
	}

	oe.idp.SetUser(&oidctest.User{Subject: "hal-sub", Email: "hal@example.com", EmailVerified: true})
	c = oe.client(t)
	if r := oe.oidcSignIn(t, c, ""); r.status != http.StatusSeeOther || !oe.signedIn(t, c) {
		t.Errorf("existing user with sign-up off: status %d; body:\n%s", r.status, snippet(r.body))
	}

	if err := oe.users.SetBanned(ctx, hal.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, who := range []oidctest.User{
		{Subject: "hal-sub", Email: "hal@example.com", EmailVerified: true},   // by identity
		{Subject: "hal-other", Email: "hal@example.com", EmailVerified: true}, // by email
	} {
		oe.idp.SetUser(&who)
		c := oe.client(t)
		if r := oe.oidcSignIn(t, c, ""); r.status != http.StatusForbidden || !strings.Contains(r.body, "suspended") || oe.signedIn(t, c) {
			t.Errorf("banned %s: status %d; body:\n%s", who.Subject, r.status, snippet(r.body))
		}
	}
}

// TestOIDCProviderErrors: an error the provider sends back (the user said no) is shown as it is on
// the sign-in page, never as a server error; so is a provider that cannot be reached, or settings
// that cannot verify anyone.
func TestOIDCProviderErrors(t *testing.T) {
	oe := newOIDCEnv(t)
	oe.idp.SetUser(&oidctest.User{Subject: "jo", Email: "jo@example.com", EmailVerified: true})
	oe.idp.SetQuirks(oidctest.Quirks{Deny: "access_denied", DenyDescription: "The user declined."})
	c := oe.client(t)
	start := c.get("/auth/oidc/oidc")
	back := c.getURL(start.location)
	if back.status != http.StatusFound {
		t.Fatalf("provider: status %d", back.status)
	}
	r := c.getURL(back.location)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Acme SSO did not sign you in: access_denied (The user declined.)") {
		t.Errorf("denied: status %d; body:\n%s", r.status, snippet(r.body))
	}
	if oe.signedIn(t, c) {
		t.Error("signed in")
	}

	// Settings that cannot verify an ID token: no issuer, even with manual endpoints.
	ctx := context.Background()
	noIssuer := newOIDCEnv(t, "OIDC_ISSUER=", "OIDC_AUTHORIZATION_URL="+oe.idp.AuthorizationEndpoint(), "OIDC_TOKEN_URL="+oe.idp.TokenEndpoint())
	c = noIssuer.client(t)
	if r := c.get("/auth/oidc/oidc"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "OIDC_ISSUER is not set") {
		t.Errorf("no issuer: status %d; body:\n%s", r.status, snippet(r.body))
	}
	// An issuer nobody answers at.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	unreachable := newOIDCEnv(t, "OIDC_ISSUER="+dead.URL)
	c = unreachable.client(t)
	if r := c.get("/auth/oidc/oidc"); r.status != http.StatusBadGateway || !strings.Contains(r.body, "could not reach Acme SSO") {
		t.Errorf("unreachable issuer: status %d; body:\n%s", r.status, snippet(r.body))
	}
	_ = ctx
}

// TestOIDCButtonAndRoutesFollowTheSettings: the sign-in page offers "Sign in with {name}" only while
// OIDC is on, and the routes exist only for the configured provider id; an admin turning OIDC off
// takes both away at once.
func TestOIDCButtonAndRoutesFollowTheSettings(t *testing.T) {
	off := newEnv(t)
	off.setUp(t)
	c := off.client(t)
	if r := c.get("/login"); strings.Contains(r.body, "Sign in with") || strings.Contains(r.body, "/auth/oidc") {
		t.Errorf("OIDC off, the sign-in page offers it:\n%s", snippet(r.body))
	}
	c.mustStatus(c.get("/auth/oidc/oidc"), http.StatusNotFound, "OIDC off: start")
	c.mustStatus(c.get("/auth/oidc/oidc/callback?code=x&state=y"), http.StatusNotFound, "OIDC off: callback")

	oe := newOIDCEnv(t)
	c = oe.client(t)
	r := c.mustStatus(c.get("/login?next=/tasks/new"), http.StatusOK, "sign-in page")
	if !strings.Contains(r.body, `href="/auth/oidc/oidc?next=%2Ftasks%2Fnew"`) || !strings.Contains(r.body, "Sign in with Acme SSO</a>") {
		t.Errorf("OIDC on, the sign-in page lacks the button:\n%s", snippet(r.body))
	}
	c.mustStatus(c.get("/auth/oidc/other"), http.StatusNotFound, "another provider id")

	if err := oe.opts.Settings.SaveSetting(context.Background(), "oidc.enabled", "false", "test"); err != nil {
		t.Fatal(err)
	}
	// OIDC_ENABLED is locked by the environment here; a saved value does not win over it.
	if r := c.get("/login"); !strings.Contains(r.body, "Sign in with Acme SSO") {
		t.Error("a saved value overrode the environment")
	}
	saved := newOIDCEnvSaved(t)
	c = saved.client(t)
	if r := c.get("/login"); !strings.Contains(r.body, "Sign in with Acme SSO") {
		t.Fatalf("OIDC saved on: no button:\n%s", snippet(r.body))
	}
	if err := saved.opts.Settings.SaveSetting(context.Background(), "oidc.enabled", "false", "test"); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/login"); strings.Contains(r.body, "Sign in with") {
		t.Error("OIDC turned off by an admin: the button stays")
	}
	c.mustStatus(c.get("/auth/oidc/oidc"), http.StatusNotFound, "OIDC turned off: start")
}

// newOIDCEnvSaved is newOIDCEnv with OIDC turned on by admin-saved settings instead of the
// environment, so that an admin can turn it off again.
func newOIDCEnvSaved(t *testing.T) *oidcEnv {
	t.Helper()
	oe := newOIDCEnv(t, "OIDC_ENABLED=")
	if err := oe.opts.Settings.SaveSetting(context.Background(), "oidc.enabled", "true", "test"); err != nil {
		t.Fatal(err)
	}
	return oe
}

// TestOIDCManualEndpoints: a manual token endpoint is used instead of the discovered one, while the
// ID token is still verified with the issuer's keys.
func TestOIDCManualEndpoints(t *testing.T) {
	var proxied atomic.Int32
	idp := oidctest.NewServer(t, oidcClientID, oidcClientSecret)
	target, _ := url.Parse(idp.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	oe := newOIDCEnv(t, "OIDC_TOKEN_URL="+front.URL+"/token")
	oe.idp.SetUser(&oidctest.User{Subject: "kim", Email: "kim@example.com", EmailVerified: true})
	// The manual endpoint forwards to this env's own provider, not idp.
	target2, _ := url.Parse(oe.idp.URL)
	*target = *target2
	c := oe.client(t)
	if r := oe.oidcSignIn(t, c, ""); r.status != http.StatusSeeOther || !oe.signedIn(t, c) {
		t.Fatalf("status %d; body:\n%s", r.status, snippet(r.body))
	}
	if proxied.Load() != 1 {
		t.Errorf("the manual token endpoint got %d requests, want 1", proxied.Load())
	}
}
