package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// signIn starts a new session for u (a new token, so a token planted before sign-in is worthless),
// tracks it as u's, so that banning or deleting u ends it at once, records u's last sign-in, and
// audits the session's creation.
func (a *App) signIn(r *http.Request, u *sesame.User) error {
	ctx := r.Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	started := time.Now() // just after the session's deadline was set: the tracked one is no earlier
	a.sessions.Put(ctx, sessionUserKey, u.ID)
	// Stored now rather than with the response, so that the session is in the store before it is
	// tracked: the sweeper never takes it for a session that ended.
	token, _, err := a.sessions.Commit(ctx)
	if err != nil {
		return err
	}
	s, err := a.Users.RecordSignIn(ctx, sesame.UserSession{Token: a.storeKey(token), UserID: u.ID,
		CreatedAt: started, ExpiresAt: started.Add(a.sessions.Lifetime)})
	if err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	a.audit(r, u, sesame.AuditSessionCreated, sesame.ResourceSession, s.ID, map[string]any{"user_id": u.ID})
	return nil
}

// safeNext returns where to go after signing in: a path on this site, never another one. next is
// read the way a browser reads a Location header, and the way a server may read it again after
// decoding it: browsers drop tabs and line breaks, take a backslash for a slash and resolve "." and
// ".." (also spelled %2e); a decoded %2F or %5C is a slash too. next is kept only when every such
// reading is a single-slash local path with no scheme, host or user; anything else goes to /tasks.
// What is kept has its dot segments resolved and no fragment.
func safeNext(next string) string {
	const home = "/tasks"
	if next == "" || len(next) > 2048 || hasControl(next) {
		return home
	}
	p, rest := next, ""
	if i := strings.IndexAny(next, "?#"); i >= 0 {
		p, rest = next[:i], next[i:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	p = resolveDots(strings.ReplaceAll(p, `\`, "/"))
	if !localPath(p) {
		return home
	}
	decoded, err := url.PathUnescape(p)
	if err != nil || hasControl(decoded) || !localPath(resolveDots(strings.ReplaceAll(decoded, `\`, "/"))) {
		return home
	}
	u, err := url.Parse(p + rest)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	return p + rest
}

// localPath reports whether p is a path on this site: one slash first, not two (a network path).
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//")
}

// hasControl reports whether s is not valid UTF-8 or holds a control character (browsers silently
// drop tab, CR and LF from a URL, so a path holding one is not the path they follow).
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// resolveDots removes "." and ".." segments from p as RFC 3986 and browsers do (".." never climbs
// above the root), counting %2e as a dot like browsers. Unlike path.Clean it keeps empty segments,
// so that "/a/..//b" becomes "//b", as a browser reads it.
func resolveDots(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch strings.ToLower(s) {
		case ".", "%2e":
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last { // "/a/." and "/a/b/.." end in a slash
			out = append(out, "")
		}
	}
	return strings.Join(out, "/")
}

// canSee reports whether u may see task t: admins see every task, users their own.
func canSee(u *sesame.User, t *sesame.Task) bool {
	return u.Role == sesame.RoleAdmin || (t.UserID != "" && t.UserID == u.ID)
}
