package admin

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template set per page: the layout, the shared partials and the page.
type pages struct {
	byName map[string]*template.Template
	event  *template.Template // one task event, for the page and for the live stream
}

// parsePages parses every page under templates/ (each defines "content") with the layout and the
// shared partials; a page is named after its file, without ".html".
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	shared, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	p.event = shared.Lookup("event")
	if p.event == nil {
		return nil, fmt.Errorf("template partials.html: no \"event\"")
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title  string
	User   *sesame.User
	Avatar avatar // the signed-in user's
	Flash  string
	Path   string
	Data   any
}

// render executes a page into a buffer first, so a template error becomes a 500 page rather than half
// a page.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t, ok := a.pages.byName[name]
	if !ok {
		a.serverError(w, r, "render", fmt.Errorf("no page %q", name))
		return
	}
	v := view{Title: title, Path: r.URL.Path, Data: data}
	gravatar := false
	if u, ok := r.Context().Value(userKey{}).(*sesame.User); ok {
		v.User = u
		gravatar = a.gravatarOn(r.Context())
		v.Avatar = avatarOf(u, gravatar)
	}
	if a.sessions != nil {
		v.Flash = a.sessions.PopString(r.Context(), sessionFlash)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		if name == "error" { // the error page itself failed: plain text
			a.Logger.Error("render error page", "err", err)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		a.serverError(w, r, "render "+name, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	img := "'self' data:"
	if gravatar {
		img += " " + gravatarOrigin
	}
	forms := "'self'"
	if extra, ok := r.Context().Value(formActionKey{}).(string); ok {
		forms += " " + extra
	}
	h.Set("Content-Security-Policy", "default-src 'self'; img-src "+img+"; style-src 'self'; script-src 'self'; base-uri 'none'; form-action "+forms+"; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type formActionKey struct{}

// withFormAction lets the page rendered for r post a form to origin besides this site (the page
// that sends GitHub the app's manifest).
func withFormAction(r *http.Request, origin string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), formActionKey{}, origin))
}

// flash leaves a message for the next page the user sees.
func (a *App) flash(r *http.Request, msg string) { a.sessions.Put(r.Context(), sessionFlash, msg) }

// errorPage answers with a page that says what went wrong in words.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	a.render(w, r, status, "error", http.StatusText(status), msg)
}

// serverError logs err and answers 500 without its details.
func (a *App) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.Logger.Error(what, "path", r.URL.Path, "err", err)
	status := http.StatusInternalServerError
	msg := "Something went wrong on the server. The error was logged; try again in a moment."
	if sesame.ErrorCode(err) == sesame.EUNAVAILABLE {
		status, msg = http.StatusServiceUnavailable, sesame.ErrorMessage(err)
	}
	a.render(w, r, status, "error", http.StatusText(status), msg)
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func isStatic(path string) bool { return strings.HasPrefix(path, "/static/") }
