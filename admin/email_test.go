package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/internal/smtptest"
	"github.com/sesame-works/sesame/mail"
	"github.com/sesame-works/sesame/postgres"
)

const (
	smtpUser = "sesame@mail.test"
	smtpPass = "smtp-app-password-1234"
)

// mailEnv is the web app wired to send email, as cmd/sesame wires it: package mail reading the live
// settings at each send, and a real SMTP server (STARTTLS, AUTH PLAIN) receiving.
type mailEnv struct {
	*env
	smtp *smtptest.Server
	live *config.Live
}

// newMailEnv starts the app with the SMTP settings saved by an admin (when smtpSet) and extraEnv.
func newMailEnv(t *testing.T, smtpSet bool, extraEnv ...string) *mailEnv {
	t.Helper()
	e := newEnv(t, extraEnv...)
	srv := smtptest.NewServer(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	live := config.NewLive(e.opts.Config, config.OpenSaved{Saved: e.opts.Settings, Sealer: e.opts.Sealer})
	sender := &mail.Sender{RootCAs: srv.CA, Timeout: 5 * time.Second, Settings: func() mail.Settings {
		c := live.Current()
		return mail.Settings{Host: c.String(config.SMTPHost), Port: c.Int(config.SMTPPort), Secure: c.Bool(config.SMTPSecure),
			User: c.String(config.SMTPUser), Pass: c.String(config.SMTPPass), From: c.String(config.SMTPFrom)}
	}}
	e.opts.Current, e.opts.Mailer, e.opts.EmailTokens = live, sender, postgres.NewEmailTokens(e.db)
	e.srv = e.serve(t, nil)
	m := &mailEnv{env: e, smtp: srv, live: live}
	if smtpSet {
		m.save(t, map[string]string{config.SMTPHost: srv.Host, config.SMTPPort: strconv.Itoa(srv.Port),
			config.SMTPUser: smtpUser, config.SMTPPass: smtpPass, config.SMTPFrom: "Sesame <noreply@sesame.test>"})
	}
	return m
}

// save stores settings as the admin page does (secrets sealed) and makes them current.
func (m *mailEnv) save(t *testing.T, values map[string]string) {
	t.Helper()
	ctx := context.Background()
	set := map[string]string{}
	for k, v := range values {
		sealed, err := config.SealSetting(m.opts.Sealer, k, v)
		if err != nil {
			t.Fatal(err)
		}
		set[k] = sealed
	}
	if err := m.opts.Settings.ApplySettings(ctx, set, nil, "test"); err != nil {
		t.Fatal(err)
	}
	if err := m.live.Reload(ctx); err != nil {
		t.Fatal(err)
	}
}

var linkRE = regexp.MustCompile(`http://sesame\.test(/(?:verify|password/reset)\?token=[A-Za-z0-9_-]{43})\b`)

// linkIn returns the path of the one link in msg (BASE_URL is http://sesame.test).
func linkIn(t *testing.T, msg smtptest.Message) string {
	t.Helper()
	m := linkRE.FindAllStringSubmatch(msg.Text, -1)
	if len(m) != 1 {
		t.Fatalf("the message has %d links; want 1:\n%s", len(m), msg.Text)
	}
	return m[0][1]
}

func tokenOf(path string) string {
	u, _ := url.Parse(path)
	return u.Query().Get("token")
}

func (c *client) mustContain(r response, want ...string) {
	c.t.Helper()
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			c.t.Errorf("page lacks %q:\n%s", w, snippet(r.body))
		}
	}
}

func TestSignUpConfirmsEmail(t *testing.T) {
	m := newMailEnv(t, true, "REQUIRE_EMAIL_VERIFICATION=true", "ALLOW_USER_REGISTRATION=true")
	m.setUp(t)
	// The first admin is confirmed: they sign in with verification required.
	admin := m.client(t)
	admin.mustStatus(admin.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}}), http.StatusSeeOther, "admin sign-in")

	bob := m.client(t)
	r := bob.mustStatus(bob.post("/signup", accountForm("Bob", "bob@example.com")), http.StatusSeeOther, "sign up")
	if r.location != "/login" {
		t.Fatalf("sign-up went to %q; want /login, without a session", r.location)
	}
	bob.mustContain(bob.get("/login"), "We sent a link to bob@example.com")
	if r := bob.get("/tasks"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Fatalf("/tasks after sign-up: %d %q; want no session", r.status, r.location)
	}
	first := m.smtp.WaitFor(t, 1, 5*time.Second)
	if first.To[0] != "bob@example.com" || !first.TLS || first.User != smtpUser || first.Subject != "Confirm your email address for Sesame" {
		t.Errorf("mail to %v over TLS %v as %q: %q", first.To, first.TLS, first.User, first.Subject)
	}
	firstLink := linkIn(t, first)

	// Signing in before confirming is refused, with the offer to send the link again.
	r = bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}})
	bob.mustStatus(r, http.StatusForbidden, "sign-in before confirming")
	bob.mustContain(r, "Confirm your email address first", `action="/verify/resend"`)
	// A wrong password says nothing about confirmation.
	r = bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password!"}})
	if r.status != http.StatusUnauthorized || strings.Contains(r.body, "Confirm your email") {
		t.Errorf("wrong password: %d, mentions confirmation: %v", r.status, strings.Contains(r.body, "Confirm your email"))
	}

	// Sent again: the new link works, the first one no longer does.
	bob.mustStatus(bob.post("/verify/resend", url.Values{"email": {"bob@example.com"}}), http.StatusSeeOther, "resend")
	link := linkIn(t, m.smtp.WaitFor(t, 2, 5*time.Second))
	bob.mustStatus(bob.get(firstLink), http.StatusNotFound, "the replaced link")

	r = bob.mustStatus(bob.get(link), http.StatusOK, "open the link")
	bob.mustContain(r, "Confirm bob@example.com")
	if rp := r.header.Get("Referrer-Policy"); (rp != "no-referrer" && rp != "same-origin") || !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
		t.Errorf("the link's page may leak its address: %v", r.header)
	}
	// Opening the link (as a mail scanner would) does not use it: confirming takes the button.
	bob.mustStatus(bob.get(link), http.StatusOK, "open the link again")
	r = bob.mustStatus(bob.post("/verify", url.Values{"token": {tokenOf(link)}}), http.StatusSeeOther, "confirm")
	bob.mustContain(bob.get("/login"), "bob@example.com is confirmed")
	bob.mustStatus(bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusSeeOther, "sign in after confirming")

	// The link works once.
	r = bob.mustStatus(bob.post("/verify", url.Values{"token": {tokenOf(link)}}), http.StatusGone, "confirm twice")
	bob.mustContain(r, "used already")
	bob.mustContain(bob.mustStatus(bob.get(link), http.StatusGone, "open a used link"), "used already")
	bob.mustStatus(bob.get("/verify?token=nonsense"), http.StatusNotFound, "unknown link")
	// A confirmation link is not a reset link.
	bob.mustStatus(bob.get("/password/reset?token="+tokenOf(link)), http.StatusNotFound, "a confirmation link as a reset link")

	// A confirmation asked again for a confirmed or unknown address sends nothing, and says the same.
	for _, email := range []string{"bob@example.com", "nobody@example.com"} {
		c := m.client(t)
		c.mustStatus(c.post("/verify/resend", url.Values{"email": {email}}), http.StatusSeeOther, "resend "+email)
		c.mustContain(c.get("/login"), "If "+email+" has an account waiting for confirmation")
	}
	// Carol's sign-up is the next message: nothing was sent in between.
	carol := m.client(t)
	carol.mustStatus(carol.post("/signup", accountForm("Carol", "carol@example.com")), http.StatusSeeOther, "carol signs up")
	if msg := m.smtp.WaitFor(t, 3, 5*time.Second); msg.To[0] != "carol@example.com" {
		t.Errorf("third message went to %v; want carol (none for confirmed or unknown addresses)", msg.To)
	}
}

func TestPasswordReset(t *testing.T) {
	m := newMailEnv(t, true)
	m.setUp(t)
	laptop, _ := m.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	phone := m.client(t)
	phone.mustStatus(phone.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusSeeOther, "second session")

	anon := m.client(t)
	anon.mustContain(anon.get("/login"), `href="/password/forgot"`, "Forgot your password?")
	// An unknown address gets the same answer as a known one, and no mail.
	answers := map[string]string{}
	for _, email := range []string{"nobody@example.com", "bob@example.com"} {
		r := anon.mustStatus(anon.post("/password/forgot", url.Values{"email": {email}}), http.StatusSeeOther, "forgot "+email)
		page := anon.get(r.location).body
		answers[email] = strings.ReplaceAll(page, email, "EMAIL")
		if !strings.Contains(page, "If an account uses "+email+", we sent it a link") {
			t.Errorf("the answer for %s:\n%s", email, snippet(page))
		}
	}
	if answers["nobody@example.com"] != answers["bob@example.com"] {
		t.Error("the answer for an unknown address differs from the answer for a known one")
	}
	msg := m.smtp.WaitFor(t, 1, 5*time.Second)
	if msgs := m.smtp.Messages(); len(msgs) != 1 || msg.To[0] != "bob@example.com" || msg.Subject != "Choose a new Sesame password" {
		t.Fatalf("%d messages, the first to %v: %q", len(msgs), msg.To, msg.Subject)
	}
	link := linkIn(t, msg)

	r := anon.mustStatus(anon.get(link), http.StatusOK, "open the reset link")
	anon.mustContain(r, "bob@example.com", `action="/password/reset"`)
	const newPassword = "a brand new passphrase"
	form := url.Values{"token": {tokenOf(link)}, "password": {"short"}, "password_confirm": {"short"}}
	anon.mustContain(anon.mustStatus(anon.post("/password/reset", form), http.StatusUnprocessableEntity, "short password"), "at least 10 characters")
	form.Set("password", newPassword)
	form.Set("password_confirm", newPassword)
	r = anon.mustStatus(anon.post("/password/reset", form), http.StatusSeeOther, "reset")
	anon.mustContain(anon.get(r.location), "Your password is changed")

	// Every session of bob's ended; the old password no longer works, the new one does.
	for name, c := range map[string]*client{"laptop": laptop, "phone": phone} {
		if r := c.get("/tasks"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Errorf("bob's %s session still works: %d %q", name, r.status, r.location)
		}
	}
	anon.mustStatus(anon.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusUnauthorized, "old password")
	anon.mustStatus(anon.post("/login", url.Values{"email": {"bob@example.com"}, "password": {newPassword}}), http.StatusSeeOther, "new password")

	// The link works once.
	other := m.client(t)
	form.Set("password", "yet another passphrase")
	form.Set("password_confirm", "yet another passphrase")
	other.mustContain(other.mustStatus(other.post("/password/reset", form), http.StatusGone, "reset twice"), "used already")
	other.mustContain(other.mustStatus(other.get(link), http.StatusGone, "open a used link"), "used already")

	// An expired link says so.
	other.mustStatus(other.post("/password/forgot", url.Values{"email": {"bob@example.com"}}), http.StatusSeeOther, "forgot again")
	expired := linkIn(t, m.smtp.WaitFor(t, 2, 5*time.Second))
	if _, err := m.db.Pool.Exec(context.Background(), `UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	other.mustContain(other.mustStatus(other.get(expired), http.StatusGone, "expired link"), "This link has expired")
	form.Set("token", tokenOf(expired))
	other.mustStatus(other.post("/password/reset", form), http.StatusGone, "reset with an expired link")
	other.mustStatus(other.post("/login", url.Values{"email": {"bob@example.com"}, "password": {newPassword}}), http.StatusSeeOther, "password unchanged")

	// Asking is limited per address asked about: bob's third link from one client goes, the fourth waits.
	other.mustStatus(other.post("/password/forgot", url.Values{"email": {"bob@example.com"}}), http.StatusSeeOther, "third link")
	r = other.mustStatus(other.post("/password/forgot", url.Values{"email": {"bob@example.com"}}), http.StatusTooManyRequests, "fourth link")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// The limit counts asks, not accounts: an unknown address is limited the same way.
	for i := 1; i <= 4; i++ {
		want := http.StatusSeeOther
		if i == 4 {
			want = http.StatusTooManyRequests
		}
		other.mustStatus(other.post("/password/forgot", url.Values{"email": {"ghost@example.com"}}), want, "ghost "+strconv.Itoa(i))
	}
	m.smtp.WaitFor(t, 3, 5*time.Second)
}

func TestTestEmail(t *testing.T) {
	m := newMailEnv(t, true)
	ada := m.setUp(t)
	page := ada.mustStatus(ada.get("/admin/settings"), http.StatusOK, "settings")
	ada.mustContain(page, `action="/admin/settings/test-email"`)
	if strings.Contains(page.body, "data-email-warning") {
		t.Error("warns although verification is not required")
	}
	r := ada.mustStatus(ada.post("/admin/settings/test-email", nil), http.StatusSeeOther, "test email")
	if r.location != "/admin/settings#smtp" {
		t.Errorf("went to %q", r.location)
	}
	ada.mustContain(ada.get("/admin/settings"), "Test email sent to ada@example.com")
	msg := m.smtp.WaitFor(t, 1, 5*time.Second)
	if msg.To[0] != "ada@example.com" || msg.Subject != "Sesame test email" || !msg.TLS || msg.User != smtpUser {
		t.Errorf("test email to %v, %q, TLS %v, user %q", msg.To, msg.Subject, msg.TLS, msg.User)
	}

	// A wrong password saved on the page: the button says so, without the password.
	const wrong = "not-the-right-password"
	ada.mustStatus(ada.post("/admin/settings", url.Values{"group": {"smtp"}, "s:" + config.SMTPPass: {wrong}}), http.StatusSeeOther, "save a wrong password")
	ada.mustStatus(ada.post("/admin/settings/test-email", nil), http.StatusSeeOther, "test email with a wrong password")
	page = ada.get("/admin/settings")
	ada.mustContain(page, "The test email could not be sent.", "refused the user name or password")
	if strings.Contains(page.body, wrong) || strings.Contains(page.body, smtpPass) {
		t.Error("the settings page shows an SMTP password")
	}
	if n := len(m.smtp.Messages()); n != 1 {
		t.Errorf("%d messages arrived; want only the first test email", n)
	}

	// Users cannot send it.
	bob, _ := m.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	bob.mustStatus(bob.post("/admin/settings/test-email", nil), http.StatusNotFound, "a user's test email")
}

// TestEmailVerificationWithoutSMTP: verification required, no mail server. People can still sign
// up, as the product documents, and are told an admin must confirm them; admins are warned, and
// confirm them by hand.
func TestEmailVerificationWithoutSMTP(t *testing.T) {
	m := newMailEnv(t, false, "REQUIRE_EMAIL_VERIFICATION=true", "ALLOW_USER_REGISTRATION=true")
	ada := m.setUp(t)
	ada.mustContain(ada.get("/admin/settings"), "data-email-warning", "No mail server is set (SMTP_HOST).")

	bob := m.client(t)
	bob.mustStatus(bob.post("/signup", accountForm("Bob", "bob@example.com")), http.StatusSeeOther, "sign up")
	bob.mustContain(bob.get("/login"), "an admin of this Sesame server must confirm your address")
	r := bob.mustStatus(bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusForbidden, "sign in unconfirmed")
	bob.mustContain(r, "ask an admin of this Sesame server to confirm it")
	if strings.Contains(r.body, "/verify/resend") || strings.Contains(r.body, "/password/forgot") {
		t.Error("the sign-in page offers links this server cannot send")
	}
	bob.mustContain(bob.mustStatus(bob.post("/password/forgot", url.Values{"email": {"bob@example.com"}}), http.StatusServiceUnavailable, "forgot"),
		"cannot send email")

	u, err := m.users.UserByEmail(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ada.mustContain(ada.get("/admin/users/"+u.ID), `data-email="unconfirmed"`, "Mark the address confirmed")
	if _, err := m.users.CreateUser(context.Background(), sesame.User{Name: "Carol", Email: "carol@example.com", PasswordHash: hashFor(t),
		EmailVerifiedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	carol := m.client(t)
	carol.mustStatus(carol.post("/login", url.Values{"email": {"carol@example.com"}, "password": {password}}), http.StatusSeeOther, "carol signs in")
	carol.mustStatus(carol.post("/admin/users/"+u.ID+"/verify", nil), http.StatusNotFound, "a user confirming someone")
	ada.mustStatus(ada.post("/admin/users/"+u.ID+"/verify", nil), http.StatusSeeOther, "confirm bob")
	ada.mustContain(ada.get("/admin/users/"+u.ID), `data-email="confirmed"`)
	bob.mustStatus(bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusSeeOther, "sign in confirmed")
	if n := len(m.smtp.Messages()); n != 0 {
		t.Errorf("%d messages sent without SMTP settings", n)
	}
}

// TestNoMailer: a web app not wired to send email offers no reset and needs none of it.
func TestNoMailer(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	c := e.client(t)
	if strings.Contains(c.get("/login").body, "/password/forgot") {
		t.Error("offers a password reset it cannot send")
	}
	c.mustStatus(c.get("/password/reset?token=x"), http.StatusNotFound, "reset without email")
	var _ admin.Mailer = (*mail.Sender)(nil)
}
