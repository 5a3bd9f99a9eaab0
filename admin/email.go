package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// Email: the links Sesame sends (address confirmation when REQUIRE_EMAIL_VERIFICATION is on,
// password reset) and what the web app needs to send them.
//
// Pages that answer for an address that may or may not have an account (a reset asked for, a
// confirmation link asked again) answer the same either way, and answer before the mail is sent:
// the response is written and flushed, then the account is looked up and the mail sent, so that
// neither the words nor the time of the answer tell whether the account exists.

// Mailer sends email. Package mail implements it over SMTP with the settings as they are at each
// send (cmd/sesame wires it).
type Mailer interface {
	// Send sends a plain-text message to one address. A failure's sesame.ErrorMessage says what went
	// wrong in words for an admin, never a password.
	Send(ctx context.Context, to, subject, body string) error
}

// mailSendTimeout bounds the mail sent after a response was written.
const mailSendTimeout = 45 * time.Second

// Email links asked for are limited per address asked about and per client address, for each
// purpose: each one sends a mail to someone's inbox.
const (
	mailWindow     = time.Hour
	mailPerAccount = 3  // links for one email address, from one client, per window
	mailPerAddress = 10 // links of one purpose from one client address, per window
)

// mailStatus says whether this server can send email now.
type mailStatus struct {
	Ready   bool
	Problem string // why not, in words for an admin
}

// mailStatusOf reads cfg: Sesame can send email when it is wired to and a server and a sender are
// set. Whether the server answers is only known by sending.
func (a *App) mailStatusOf(cfg *config.Config) mailStatus {
	switch {
	case a.Mailer == nil || a.EmailTokens == nil:
		return mailStatus{Problem: "This Sesame server is not wired to send email."}
	case strings.TrimSpace(cfg.String(config.SMTPHost)) == "":
		return mailStatus{Problem: "No mail server is set (SMTP_HOST)."}
	case strings.TrimSpace(cfg.String(config.SMTPFrom)) == "":
		return mailStatus{Problem: "No sender is set (SMTP_FROM)."}
	}
	return mailStatus{Ready: true}
}

// mailNow reads the settings as they are now and says whether email can be sent; when the settings
// cannot be read it says no.
func (a *App) mailNow(r *http.Request) (mailStatus, *config.Config) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.Logger.Error("read saved settings", "err", err)
		return mailStatus{Problem: "The settings cannot be read."}, nil
	}
	return a.mailStatusOf(cfg), cfg
}

// verificationRequired reads REQUIRE_EMAIL_VERIFICATION as it is now.
func (a *App) verificationRequired(r *http.Request) bool {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.Logger.Error("read saved settings", "err", err)
		return true // required when in doubt: a sign-in waits rather than skipping a check
	}
	return cfg.Bool(config.RegistrationRequireEmailVerification)
}

// link is the absolute address of path with token, on BASE_URL.
func (a *App) link(path, token string) string {
	u := *a.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// takeMail counts one link of purpose asked for email from addr and returns how long until another
// is accepted (0: accept this one). Without Redis it fails closed.
func (a *App) takeMail(ctx context.Context, purpose sesame.EmailPurpose, email, addr string) (time.Duration, error) {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email)) + "\x00" + addr))
	p := "mail:" + string(purpose) + ":"
	wait, err := a.Limiter.Take(ctx, mailWindow, map[string]int{
		p + "account:" + hex.EncodeToString(sum[:16]): mailPerAccount,
		p + "addr:" + addr:                            mailPerAddress,
	})
	if err != nil {
		return 0, fmt.Errorf("count email link: %w: %w", err,
			sesame.Errorf(sesame.EUNAVAILABLE, "Sending links is unavailable for a moment (Sesame cannot reach Redis). Try again shortly."))
	}
	return wait, nil
}

// answerFirst writes the response's header and flushes it, so that the client has its whole answer
// (a redirect without a body) before the handler goes on to work whose duration must not show. It
// returns a context for that work that outlives the client hanging up, bounded by mailSendTimeout.
func answerFirst(w http.ResponseWriter, r *http.Request, location string) (context.Context, context.CancelFunc) {
	w.Header().Set("Location", location)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusSeeOther)
	_ = http.NewResponseController(w).Flush()
	return context.WithTimeout(context.WithoutCancel(r.Context()), mailSendTimeout)
}

// sendLink makes a link of purpose for u and mails it. It audits the attempt (never the link) and
// returns the error, already logged.
func (a *App) sendLink(ctx context.Context, r *http.Request, u *sesame.User, purpose sesame.EmailPurpose) error {
	token, err := a.EmailTokens.NewEmailToken(ctx, u.ID, purpose)
	if err != nil {
		a.Logger.Error("make email link", "user_id", u.ID, "purpose", purpose, "err", err)
		return err
	}
	subject, body := linkMail(u, purpose, a.link(linkPath(purpose), token), a.base.Host)
	err = a.Mailer.Send(ctx, u.Email, subject, body)
	payload := map[string]any{"purpose": string(purpose), "to": u.Email, "ok": err == nil}
	if err != nil {
		payload["error"] = sesame.ErrorMessage(err)
		a.Logger.Warn("send email link", "user_id", u.ID, "purpose", purpose, "err", err)
	} else {
		a.Logger.Info("email link sent", "user_id", u.ID, "purpose", purpose)
	}
	a.auditAs(ctx, r, u, sesame.AuditEmailSent, sesame.ResourceUser, u.ID, payload)
	return err
}

// auditAs is audit with ctx in place of the request's context (which may have ended).
func (a *App) auditAs(ctx context.Context, r *http.Request, actor *sesame.User, action sesame.AuditAction, resourceType, resourceID string, payload map[string]any) {
	a.audit(r.WithContext(ctx), actor, action, resourceType, resourceID, payload)
}

func linkPath(purpose sesame.EmailPurpose) string {
	if purpose == sesame.EmailPasswordReset {
		return "/password/reset"
	}
	return "/verify"
}

// linkMail is the subject and text of the mail carrying link.
func linkMail(u *sesame.User, purpose sesame.EmailPurpose, link, host string) (subject, body string) {
	hello := "Hello,"
	if u.Name != "" {
		hello = "Hello " + u.Name + ","
	}
	if purpose == sesame.EmailPasswordReset {
		return "Choose a new Sesame password", fmt.Sprintf(`%s

Someone, probably you, asked to choose a new password for your Sesame account %s at %s.
Open this link to choose one. It works once, for the next hour:

%s

Choosing a new password signs you out everywhere. If you did not ask for this, ignore this
message: your password stays as it is.
`, hello, u.Email, host, link)
	}
	return "Confirm your email address for Sesame", fmt.Sprintf(`%s

Confirm that %s is your address to finish creating your Sesame account at %s.
Open this link; it works once, for the next 24 hours:

%s

If you did not create this account, ignore this message.
`, hello, u.Email, host, link)
}
