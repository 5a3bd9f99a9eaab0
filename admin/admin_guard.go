package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

// requireAdmin lets admins through. Anyone else signed in gets the same 404 as for a page that does
// not exist, so the admin section does not announce itself; anonymous visitors of a page are sent to
// sign in, and anonymous calls of /api/admin get 401.
func (a *App) requireAdmin(h func(http.ResponseWriter, *http.Request, *sesame.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := a.currentUser(r)
		api := strings.HasPrefix(r.URL.Path, "/api/")
		switch {
		case u == nil && api:
			http.Error(w, "Sign in as an admin to use this API.", http.StatusUnauthorized)
		case u == nil:
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/login"+next, http.StatusSeeOther)
		case u.Role != sesame.RoleAdmin && api:
			http.Error(w, "404 page not found", http.StatusNotFound)
		case u.Role != sesame.RoleAdmin:
			a.notFound(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		default:
			h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)), u)
		}
	})
}
