package admin

import (
	"fmt"
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

// Password reset by email. "Forgot your password?" on the sign-in page asks for an address and
// always gives the same answer, before anything is sent (see email.go), whether or not an account
// uses it; asking is limited per address asked about and per client. The mail holds a link that
// works once, for an hour; it opens a form for a new password under the same rules as sign-up.
// Choosing one ends every session of the account and is audited. A user who has no password (one
// who signs in with OIDC only) can set one this way: the link proves they hold the mailbox, which is
// what an account with a password proves at sign-up. Banned users are sent nothing.

type forgotView struct {
	Email, Error string
	Mail         mailStatus
}

func (a *App) forgotPage(w http.ResponseWriter, r *http.Request) {
	st, _ := a.mailNow(r)
	a.render(w, r, http.StatusOK, "password_forgot", "Forgot your password?", forgotView{Email: r.URL.Query().Get("email"), Mail: st})
}

// forgot mails a reset link to the address in the form when an account uses it.
func (a *App) forgot(w http.ResponseWriter, r *http.Request) {
	if st, _ := a.mailNow(r); !st.Ready {
		a.render(w, r, http.StatusServiceUnavailable, "password_forgot", "Forgot your password?", forgotView{Mail: st})
		return
	}
	email, ok := a.emailForm(w, r)
	if !ok {
		return
	}
	if !a.linkAllowed(w, r, sesame.EmailPasswordReset, email) {
		return
	}
	a.flash(r, fmt.Sprintf("If an account uses %s, we sent it a link to choose a new password. The link works once, for an hour.", email))
	ctx, cancel := answerFirst(w, r, "/login")
	defer cancel()
	if u := a.linkRecipient(ctx, email); u != nil {
		_ = a.sendLink(ctx, r, u, sesame.EmailPasswordReset) // logged and audited
	}
}

func (a *App) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if t := a.openLink(w, r, sesame.EmailPasswordReset, token); t != nil {
		a.render(w, r, http.StatusOK, "email_link", linkTitle(sesame.EmailPasswordReset),
			linkView{Purpose: sesame.EmailPasswordReset, Token: token, Email: t.Email})
	}
}

// reset sets the new password with a reset link and signs the account out everywhere.
func (a *App) reset(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := r.PostForm.Get("token")
	t := a.openLink(w, r, sesame.EmailPasswordReset, token)
	if t == nil {
		return
	}
	password := r.PostForm.Get("password")
	problem := passwordProblem(password)
	if problem == "" && password != r.PostForm.Get("password_confirm") {
		problem = "The two passwords differ."
	}
	if problem != "" {
		a.render(w, r, http.StatusUnprocessableEntity, "email_link", linkTitle(sesame.EmailPasswordReset),
			linkView{Purpose: sesame.EmailPasswordReset, Token: token, Email: t.Email, Error: problem})
		return
	}
	hash, err := hashPassword(password)
	if err != nil {
		a.serverError(w, r, "hash password", err)
		return
	}
	u, err := a.EmailTokens.ResetPassword(r.Context(), token, hash)
	switch sesame.ErrorCode(err) {
	case "":
	case sesame.ENOTFOUND, sesame.ECONFLICT: // used or voided meanwhile
		a.render(w, r, http.StatusGone, "email_link", linkTitle(sesame.EmailPasswordReset),
			linkView{Purpose: sesame.EmailPasswordReset, Gone: sesame.ErrorMessage(err)})
		return
	default:
		a.serverError(w, r, "reset password", err)
		return
	}
	a.Logger.Info("password reset", "user_id", u.ID)
	a.audit(r, u, sesame.AuditPasswordReset, sesame.ResourceUser, u.ID, map[string]any{"email": u.Email, "sessions_ended": true})
	// The store ended every session of the account; this browser's, whoever's it is, ends too, so
	// that the flash below does not save it again.
	a.signOutHere(r, "Your password is changed, and every session of your account has ended. Sign in with the new password.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
