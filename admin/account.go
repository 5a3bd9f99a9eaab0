package admin

import (
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// maxForm caps every form body: the largest field is a task's prompt.
const maxForm = 256 << 10

type accountForm struct {
	Name, Email, Next string
	Error             string
}

func (a *App) setupPage(w http.ResponseWriter, r *http.Request) {
	if done, err := a.setUp(r); err != nil {
		a.serverError(w, r, "count users", err)
		return
	} else if done {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "setup", "Set up Sesame", accountForm{})
}

// setup creates the first user, an admin, and closes sign-ups in the same transaction.
func (a *App) setup(w http.ResponseWriter, r *http.Request) {
	if done, err := a.setUp(r); err != nil {
		a.serverError(w, r, "count users", err)
		return
	} else if done {
		a.errorPage(w, r, http.StatusConflict, "Sesame is already set up. Sign in instead.")
		return
	}
	_, u, ok := a.readAccountForm(w, r, "setup", "Set up Sesame")
	if !ok {
		return
	}
	u.Role = sesame.RoleAdmin
	created, err := a.Users.CreateFirstAdmin(r.Context(), u)
	if sesame.ErrorCode(err) == sesame.ECONFLICT {
		a.errorPage(w, r, http.StatusConflict, "Sesame is already set up. Sign in instead.")
		return
	} else if err != nil {
		a.serverError(w, r, "create first admin", err)
		return
	}
	a.set.Store(true)
	a.settingsSaved(r.Context()) // sign-ups closed: on every node now
	if a.Config.Locked(config.RegistrationAllowNewUsers) && a.Config.Bool(config.RegistrationAllowNewUsers) {
		a.Logger.Warn("ALLOW_USER_REGISTRATION=true keeps sign-ups open after setup; unset it to close them")
	}
	a.Logger.Info("first admin created; sign-ups closed", "user_id", created.ID)
	a.audit(r, created, sesame.AuditRegistered, sesame.ResourceUser, created.ID, map[string]any{"email": created.Email, "role": string(created.Role), "setup": true})
	a.audit(r, created, sesame.AuditRegistrationChanged, sesame.ResourceSetting, config.RegistrationAllowNewUsers, map[string]any{"allowNewUsers": false, "reason": "first admin created"})
	if err := a.signIn(r, created); err != nil {
		a.serverError(w, r, "start session", err)
		return
	}
	// Without a GitHub App nothing can be done yet: creating one is the next step.
	if cfg, err := a.settings(r.Context()); err == nil && cfg.Int(config.GitHubAppID) == 0 {
		a.flash(r, "Welcome to Sesame. You are its first admin; sign-ups are now closed. Next, create the GitHub App Sesame works as.")
		http.Redirect(w, r, sesame.GitHubAppPagePath, http.StatusSeeOther)
		return
	}
	a.flash(r, "Welcome to Sesame. You are its first admin; sign-ups are now closed.")
	http.Redirect(w, r, "/tasks", http.StatusSeeOther)
}

// setUp reports whether the first user exists. Once it does, it never asks the database again.
func (a *App) setUp(r *http.Request) (bool, error) {
	if a.set.Load() {
		return true, nil
	}
	n, err := a.Users.CountUsers(r.Context())
	if err != nil {
		return false, err
	}
	if n > 0 {
		a.set.Store(true)
	}
	return n > 0, nil
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.currentUser(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	a.renderLogin(w, r, http.StatusOK, loginView{Next: r.URL.Query().Get("next")})
}

// renderLogin shows the sign-in form, offering sign-up while it is open.
func (a *App) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	v.SignupOpen = a.signupOpen(r)
	v.CanReset = a.canReset(r)
	v.OIDC = a.oidcButtonFor(r, v.Next)
	a.render(w, r, status, "login", "Sign in", v)
}

type loginView struct {
	loginEmail
	Email, Next, Error string
	SignupOpen         bool
	OIDC               *oidcButton // "Sign in with …"; nil when OIDC sign-in is off
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	v := loginView{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: r.PostForm.Get("next")}
	password := r.PostForm.Get("password")
	// The attempt is counted before the password is checked, so concurrent guesses cannot all pass
	// the check before any of them is counted.
	addr := source(a.proxies.clientAddr(r))
	wait, err := a.takeSignIn(r.Context(), v.Email, addr)
	if err != nil {
		a.serverError(w, r, "count sign-in attempt", err)
		return
	}
	if wait > 0 {
		a.Logger.Warn("sign-in throttled", "addr", addr)
		a.throttled(w, r, v, wait)
		return
	}
	u, err := a.Users.UserByEmail(r.Context(), v.Email)
	if err != nil && sesame.ErrorCode(err) != sesame.ENOTFOUND {
		a.serverError(w, r, "find user", err)
		return
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	match, err := checkPassword(hash, password)
	if err != nil {
		a.Logger.Error("check password", "err", err)
	}
	if u == nil || !match {
		a.audit(r, nil, sesame.AuditSignInFailed, sesame.ResourceUser, userID(u), map[string]any{"email": v.Email, "reason": "wrong email or password"})
		v.Error = "That email and password do not match an account."
		a.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	if u.Banned {
		a.audit(r, nil, sesame.AuditSignInFailed, sesame.ResourceUser, u.ID, map[string]any{"email": v.Email, "reason": "banned"})
		v.Error = "This account is suspended. Ask an admin of this Sesame server."
		a.renderLogin(w, r, http.StatusForbidden, v)
		return
	}
	if a.unconfirmed(w, r, v, u) { // REQUIRE_EMAIL_VERIFICATION: verify.go
		return
	}
	a.signedIn(r.Context(), v.Email, addr)
	if err := a.signIn(r, u); err != nil {
		a.serverError(w, r, "start session", err)
		return
	}
	a.audit(r, u, sesame.AuditSignIn, sesame.ResourceUser, u.ID, map[string]any{"method": "password"})
	http.Redirect(w, r, safeNext(v.Next), http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if u := a.currentUser(r); u != nil {
		a.audit(r, u, sesame.AuditSignOut, sesame.ResourceUser, u.ID, nil)
		// A session ended by signing out is not reported as expired later.
		if token := a.sessions.Token(r.Context()); token != "" {
			if err := a.Users.ForgetSession(r.Context(), a.storeKey(token)); err != nil {
				a.Logger.Warn("forget session", "user_id", u.ID, "err", err)
			}
		}
	}
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.serverError(w, r, "end session", err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// signupOpen reads registration.allowNewUsers with the values saved by admins, which change while
// Sesame runs (setup closes sign-ups).
func (a *App) signupOpen(r *http.Request) bool {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.Logger.Error("read saved settings", "err", err)
		return false // closed when in doubt
	}
	return cfg.Bool(config.RegistrationAllowNewUsers)
}

func (a *App) signupPage(w http.ResponseWriter, r *http.Request) {
	if !a.signupOpen(r) {
		a.render(w, r, http.StatusForbidden, "signup_closed", "Sign-ups are closed", nil)
		return
	}
	a.render(w, r, http.StatusOK, "signup", "Create an account", accountForm{})
}

func (a *App) signup(w http.ResponseWriter, r *http.Request) {
	if !a.signupOpen(r) {
		a.render(w, r, http.StatusForbidden, "signup_closed", "Sign-ups are closed", nil)
		return
	}
	// Counted before the form is read: hashing a password is the expensive part.
	if wait, err := a.takeSignUp(r.Context(), source(a.proxies.clientAddr(r))); err != nil {
		a.serverError(w, r, "count sign-up", err)
		return
	} else if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		a.render(w, r, http.StatusTooManyRequests, "signup", "Create an account",
			accountForm{Error: fmt.Sprintf("Too many sign-ups from your address. Try again in %s.", waitWords(wait))})
		return
	}
	f, u, ok := a.readAccountForm(w, r, "signup", "Create an account")
	if !ok {
		return
	}
	u.Role = sesame.RoleUser
	created, err := a.Users.CreateUser(r.Context(), u)
	if sesame.ErrorCode(err) == sesame.ECONFLICT {
		f.Error = "An account with this email already exists. Sign in instead."
		a.render(w, r, http.StatusConflict, "signup", "Create an account", f)
		return
	} else if err != nil {
		a.serverError(w, r, "create user", err)
		return
	}
	a.Logger.Info("user signed up", "user_id", created.ID)
	a.audit(r, created, sesame.AuditRegistered, sesame.ResourceUser, created.ID, map[string]any{"email": created.Email, "role": string(created.Role)})
	if a.afterSignUp(w, r, created) { // REQUIRE_EMAIL_VERIFICATION: a link by email, no session yet (verify.go)
		return
	}
	if err := a.signIn(r, created); err != nil {
		a.serverError(w, r, "start session", err)
		return
	}
	http.Redirect(w, r, "/tasks", http.StatusSeeOther)
}

// readAccountForm reads and checks a setup or sign-up form; on a problem it renders the form again
// with the reason and returns ok false.
func (a *App) readAccountForm(w http.ResponseWriter, r *http.Request, page, title string) (accountForm, sesame.User, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return accountForm{}, sesame.User{}, false
	}
	f := accountForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Email: strings.TrimSpace(r.PostForm.Get("email"))}
	password := r.PostForm.Get("password")
	addr, err := mail.ParseAddress(f.Email)
	switch {
	case f.Name == "" || len(f.Name) > 200:
		f.Error = "Enter your name (up to 200 characters)."
	case err != nil || addr.Address != f.Email || len(f.Email) > 254:
		f.Error = "Enter an email address such as ada@example.com."
	case passwordProblem(password) != "":
		f.Error = passwordProblem(password)
	case password != r.PostForm.Get("password_confirm"):
		f.Error = "The two passwords differ."
	}
	if f.Error != "" {
		a.render(w, r, http.StatusUnprocessableEntity, page, title, f)
		return f, sesame.User{}, false
	}
	hash, err := hashPassword(password)
	if err != nil {
		a.serverError(w, r, "hash password", err)
		return f, sesame.User{}, false
	}
	return f, sesame.User{Name: f.Name, Email: strings.ToLower(f.Email), PasswordHash: hash}, true
}

// userID is u's id, or "" for no user.
func userID(u *sesame.User) string {
	if u == nil {
		return ""
	}
	return u.ID
}
