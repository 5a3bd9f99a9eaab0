package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// Address confirmation (REQUIRE_EMAIL_VERIFICATION). While it is on, a user whose address is not
// confirmed cannot sign in: a new account gets a link by email instead of a session, and the
// sign-in page offers to send the link again. When this server cannot send email, accounts are
// still created, as the product's settings page promises, and the person is told that an admin
// must confirm them (Users → the user → "Mark the address confirmed"); the settings page warns
// admins of it. Sessions that exist are not ended when the setting is turned on.

func (a *App) emailRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify", a.verifyPage)
	mux.HandleFunc("POST /verify", a.verify)
	mux.HandleFunc("POST /verify/resend", a.resendVerification)
	mux.HandleFunc("GET /password/forgot", a.forgotPage)
	mux.HandleFunc("POST /password/forgot", a.forgot)
	mux.HandleFunc("GET /password/reset", a.resetPage)
	mux.HandleFunc("POST /password/reset", a.reset)
	mux.Handle("POST /admin/users/{id}/verify", a.requireAdmin(a.adminVerifyUser))
	mux.Handle("POST /admin/settings/test-email", a.requireAdmin(a.testEmail))
}

// mustConfirm reports whether u has to confirm their address before signing in.
func (a *App) mustConfirm(r *http.Request, u *sesame.User) bool {
	return u.EmailVerifiedAt.IsZero() && a.verificationRequired(r)
}

// afterSignUp handles a new account while confirmation is required: it mails the link (or says an
// admin must confirm) and sends the person to sign in later, without a session. It reports whether
// it answered; when confirmation is not required it does nothing.
func (a *App) afterSignUp(w http.ResponseWriter, r *http.Request, u *sesame.User) bool {
	if !a.mustConfirm(r, u) {
		return false
	}
	st, _ := a.mailNow(r)
	switch {
	case !st.Ready:
		a.Logger.Warn("email confirmation is required but this server cannot send email; an admin must confirm the new user",
			"user_id", u.ID, "problem", st.Problem)
		a.flash(r, "Your account is created. This server cannot send email, so an admin of this Sesame server must "+
			"confirm your address before you can sign in.")
	case a.sendLink(r.Context(), r, u, sesame.EmailVerify) != nil:
		a.flash(r, fmt.Sprintf("Your account is created, but the email to confirm %s could not be sent. Try again from "+
			"the sign-in page in a while, or ask an admin of this Sesame server to confirm you.", u.Email))
	default:
		a.flash(r, fmt.Sprintf("Your account is created. We sent a link to %s: open it to confirm your address, then sign in.", u.Email))
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return true
}

// loginConfirm is what the sign-in page says to a user who must confirm their address first.
type loginConfirm struct {
	Email  string
	Resend bool // this server can send the link again
}

// unconfirmed refuses the sign-in of u, whose password matched, while their address is not
// confirmed and confirmation is required. It reports whether it answered.
func (a *App) unconfirmed(w http.ResponseWriter, r *http.Request, v loginView, u *sesame.User) bool {
	if !a.mustConfirm(r, u) {
		return false
	}
	a.audit(r, nil, sesame.AuditSignInFailed, sesame.ResourceUser, u.ID, map[string]any{"email": u.Email, "reason": "email not confirmed"})
	st, _ := a.mailNow(r)
	v.Confirm = &loginConfirm{Email: u.Email, Resend: st.Ready}
	if st.Ready {
		v.Error = fmt.Sprintf("Confirm your email address first: open the link we sent to %s.", u.Email)
	} else {
		v.Error = "Your email address is not confirmed yet, and this server cannot send email: ask an admin of this Sesame server to confirm it."
	}
	a.renderLogin(w, r, http.StatusForbidden, v)
	return true
}

// resendVerification mails a new confirmation link to the address in the form, when it belongs to
// an account waiting for one. The answer is the same whether it does, and comes first.
func (a *App) resendVerification(w http.ResponseWriter, r *http.Request) {
	email, ok := a.emailForm(w, r)
	if !ok {
		return
	}
	if !a.linkAllowed(w, r, sesame.EmailVerify, email) {
		return
	}
	a.flash(r, fmt.Sprintf("If %s has an account waiting for confirmation, a new link is on its way; it works for 24 hours.", email))
	ctx, cancel := answerFirst(w, r, "/login")
	defer cancel()
	if u := a.linkRecipient(ctx, email); u != nil && u.EmailVerifiedAt.IsZero() {
		_ = a.sendLink(ctx, r, u, sesame.EmailVerify) // logged and audited
	}
}

// linkRecipient returns the account that may be mailed a link for email: nil when there is none,
// it is banned, or it could not be read (logged). Its caller has already answered the same either way.
func (a *App) linkRecipient(ctx context.Context, email string) *sesame.User {
	u, err := a.Users.UserByEmail(ctx, email)
	if err != nil {
		if sesame.ErrorCode(err) != sesame.ENOTFOUND {
			a.Logger.Error("find user", "err", err)
		}
		return nil
	}
	if u.Banned {
		return nil
	}
	return u
}

// emailForm reads a form's email field; on a problem it has answered.
func (a *App) emailForm(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return "", false
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		a.render(w, r, http.StatusUnprocessableEntity, "password_forgot", "Forgot your password?",
			forgotView{Email: email, Error: "Enter an email address such as ada@example.com.", Mail: mailStatus{Ready: true}})
		return "", false
	}
	return email, true
}

// linkAllowed counts a link of purpose asked for email and, when too many were, answers 429 and
// reports false. The count does not depend on whether the account exists.
func (a *App) linkAllowed(w http.ResponseWriter, r *http.Request, purpose sesame.EmailPurpose, email string) bool {
	addr := source(a.proxies.clientAddr(r))
	wait, err := a.takeMail(r.Context(), purpose, email, addr)
	if err != nil {
		a.serverError(w, r, "count email link", err)
		return false
	}
	if wait <= 0 {
		return true
	}
	a.Logger.Warn("email links throttled", "addr", addr, "purpose", purpose)
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	a.render(w, r, http.StatusTooManyRequests, "password_forgot", "Too many links asked for", forgotView{Email: email,
		Error: fmt.Sprintf("Too many links were asked for from your address. Try again in %s.", waitWords(wait)), Mail: mailStatus{Ready: true}})
	return false
}

// linkView is the page a link sent by email opens: confirm an address, or choose a new password.
type linkView struct {
	Purpose sesame.EmailPurpose
	Token   string
	Email   string
	Gone    string // why the link cannot be used; "" when it can
	Error   string
}

// openLink looks up the link in the request's token for purpose. When it cannot be used it answers
// with the reason and returns nil. The page, like every page, is not cached and sends its address
// (which holds the token) as a referrer only to this site (render's headers); the request log has
// only the path.
func (a *App) openLink(w http.ResponseWriter, r *http.Request, purpose sesame.EmailPurpose, token string) *sesame.EmailToken {
	title := linkTitle(purpose)
	if a.EmailTokens == nil || token == "" || len(token) > 100 {
		a.render(w, r, http.StatusNotFound, "email_link", title, linkView{Purpose: purpose, Gone: "This link is not known."})
		return nil
	}
	t, err := a.EmailTokens.EmailToken(r.Context(), token, purpose)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.render(w, r, http.StatusNotFound, "email_link", title, linkView{Purpose: purpose, Gone: sesame.ErrorMessage(err)})
		return nil
	} else if err != nil {
		a.serverError(w, r, "look up email link", err)
		return nil
	}
	gone := ""
	switch {
	case !t.UsedAt.IsZero():
		gone = "This link was used already: each link works once."
	case !now().Before(t.ExpiresAt):
		gone = fmt.Sprintf("This link has expired: it worked for %s.", ttlWords(purpose.TTL()))
	}
	if gone != "" {
		a.render(w, r, http.StatusGone, "email_link", title, linkView{Purpose: purpose, Email: t.Email, Gone: gone})
		return nil
	}
	return t
}

func linkTitle(purpose sesame.EmailPurpose) string {
	if purpose == sesame.EmailPasswordReset {
		return "Choose a new password"
	}
	return "Confirm your email address"
}

func ttlWords(d time.Duration) string {
	if d == time.Hour {
		return "an hour"
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}

// verifyPage shows the confirmation of an address, asking for a click: a mail scanner that opens
// the link does not use it.
func (a *App) verifyPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if t := a.openLink(w, r, sesame.EmailVerify, token); t != nil {
		a.render(w, r, http.StatusOK, "email_link", linkTitle(sesame.EmailVerify), linkView{Purpose: sesame.EmailVerify, Token: token, Email: t.Email})
	}
}

// verify uses a confirmation link.
func (a *App) verify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := r.PostForm.Get("token")
	if a.openLink(w, r, sesame.EmailVerify, token) == nil {
		return
	}
	u, err := a.EmailTokens.VerifyEmail(r.Context(), token)
	switch sesame.ErrorCode(err) {
	case "":
	case sesame.ENOTFOUND, sesame.ECONFLICT: // used or voided meanwhile
		a.render(w, r, http.StatusGone, "email_link", linkTitle(sesame.EmailVerify), linkView{Purpose: sesame.EmailVerify, Gone: sesame.ErrorMessage(err)})
		return
	default:
		a.serverError(w, r, "confirm email", err)
		return
	}
	a.Logger.Info("email confirmed", "user_id", u.ID)
	a.audit(r, u, sesame.AuditEmailVerified, sesame.ResourceUser, u.ID, map[string]any{"email": u.Email, "by": "link"})
	a.flash(r, fmt.Sprintf("Thank you: %s is confirmed. You can sign in now.", u.Email))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// adminVerifyUser confirms a user's address by hand: what an admin does when this server sends no
// email, or the user cannot receive it.
func (a *App) adminVerifyUser(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	if !a.parseAdminForm(w, r) {
		return
	}
	if a.EmailTokens == nil {
		a.errorPage(w, r, http.StatusNotFound, "This server keeps no email confirmations.")
		return
	}
	before, err := a.EmailTokens.SetEmailVerified(r.Context(), r.PathValue("id"))
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.errorPage(w, r, http.StatusNotFound, "There is no user at this address; they may have been deleted.")
		return
	} else if err != nil {
		a.serverError(w, r, "confirm email", err)
		return
	}
	if !before.EmailVerifiedAt.IsZero() {
		a.flash(r, fmt.Sprintf("%s was confirmed already.", before.Email))
	} else {
		a.Logger.Info("email confirmed by an admin", "user_id", before.ID, "by", me.ID)
		a.audit(r, me, sesame.AuditEmailVerified, sesame.ResourceUser, before.ID, map[string]any{"email": before.Email, "by": "admin"})
		a.flash(r, fmt.Sprintf("%s is confirmed: %s can sign in.", before.Email, displayName(before)))
	}
	http.Redirect(w, r, userPath(before.ID), http.StatusSeeOther)
}

// loginEmail is what the sign-in page shows of email: the confirmation a user still owes, and
// whether a forgotten password can be reset by email.
type loginEmail struct {
	Confirm  *loginConfirm // nil unless the user must confirm their address first
	CanReset bool
}

// canReset reports whether this server can send password reset links now.
func (a *App) canReset(r *http.Request) bool {
	st, _ := a.mailNow(r)
	return st.Ready
}
