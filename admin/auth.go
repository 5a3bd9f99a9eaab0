package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

type userKey struct{}

// currentUser returns the signed-in user, or nil. A user who was banned since signing in is signed out
// here, on their next request: a ban ends every open session.
func (a *App) currentUser(r *http.Request) *sesame.User {
	if u, ok := r.Context().Value(userKey{}).(*sesame.User); ok {
		return u
	}
	id := a.sessions.GetString(r.Context(), sessionUserKey)
	if id == "" {
		return nil
	}
	u, err := a.Users.User(r.Context(), id)
	if err != nil {
		if sesame.ErrorCode(err) != sesame.ENOTFOUND {
			a.Logger.Error("load signed-in user", "err", err)
		}
		return nil
	}
	if u.Banned {
		_ = a.sessions.Destroy(r.Context())
		return nil
	}
	return u
}

// requireUser lets signed-in users through and sends everyone else to sign in, back to where they were
// going afterwards. Requests for data (the event stream) get 401 instead of a redirect.
func (a *App) requireUser(h func(http.ResponseWriter, *http.Request, *sesame.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := a.currentUser(r)
		if u == nil {
			if strings.HasSuffix(r.URL.Path, "/events") {
				http.Error(w, "Sign in to follow this task.", http.StatusUnauthorized)
				return
			}
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/login"+next, http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)), u)
	})
}

// signIn starts a new session for u (a new token, so a token planted before sign-in is worthless).
func (a *App) signIn(r *http.Request, u *sesame.User) error {
	if err := a.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	a.sessions.Put(r.Context(), sessionUserKey, u.ID)
	return nil
}

// safeNext returns where to go after signing in: a local path only, never another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/tasks"
	}
	return next
}

// canSee reports whether u may see task t: admins see every task, users their own.
func canSee(u *sesame.User, t *sesame.Task) bool {
	return u.Role == sesame.RoleAdmin || (t.UserID != "" && t.UserID == u.ID)
}
