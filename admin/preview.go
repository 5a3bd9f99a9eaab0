package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// Previews reaches the servers an agent starts in its sandbox (a dev server on a port).
type Previews interface {
	// DialPreview opens a stream to port inside the sandbox of the task id. The error's code is
	// ENOTFOUND when nothing listens there or the sandbox is not running on this host, EINVALID for
	// a port no preview may reach; its message says which, in words for the viewer.
	DialPreview(ctx context.Context, taskID string, port int) (net.Conn, error)
}

// previewCSP is the Content-Security-Policy of everything a preview serves. What a preview serves is
// the agent's content, and the agent is untrusted: sandboxed without allow-same-origin, its pages
// run in an opaque origin, so their scripts can neither read Sesame's pages and API with the
// viewer's session nor touch its cookies and storage.
const previewCSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

// previewRoutes serves /tasks/{id}/preview/{port}/...: the task's owner (or an admin) reaches a
// server the agent runs in the sandbox through this reverse proxy, HTTP and WebSocket. The routes
// sit outside the cross-origin protection: the sandboxed pages they serve have an opaque origin, so
// every request they make is cross-origin; what those requests can reach is only the sandbox's
// server, through the preview's grant.
func (a *App) previewRoutes(mux *http.ServeMux) {
	if a.Previews == nil {
		mux.HandleFunc("/tasks/{id}/preview/", func(w http.ResponseWriter, r *http.Request) {
			a.errorPage(w, r, http.StatusNotFound, "Previews are not available on this server.")
		})
		return
	}
	mux.HandleFunc("/tasks/{id}/preview/{port}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/tasks/{id}/preview/{port}/{rest...}", a.servePreview)
}

func (a *App) servePreview(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	port, err := strconv.Atoi(r.PathValue("port"))
	if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != r.PathValue("port") {
		a.errorPage(w, r, http.StatusNotFound, "A preview's address ends in a port number, 1 to 65535.")
		return
	}
	rest := r.PathValue("rest")
	grant, path, granted := strings.Cut(strings.TrimPrefix(rest, grantMark), "/")
	granted = granted && strings.HasPrefix(rest, grantMark)
	var u *sesame.User
	if granted {
		u = a.grantUser(r, grant, id, port)
	} else {
		u = a.currentUser(r)
	}
	if u == nil {
		if r.Method == http.MethodGet {
			entry := fmt.Sprintf("/tasks/%s/preview/%d/", id, port)
			if !granted {
				entry = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(entry), http.StatusSeeOther)
			return
		}
		http.Error(w, "Sign in to see this preview.", http.StatusUnauthorized)
		return
	}
	t, err := a.Tasks.Task(r.Context(), id)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND || (err == nil && !canSee(u, t)) {
		a.errorPage(w, r, http.StatusNotFound, "There is no task at this address, or it is not yours to see.")
		return
	} else if err != nil {
		a.serverError(w, r, "load task", err)
		return
	}
	if !granted {
		// Signed in: on to the same address under a grant, which the sandboxed page's own requests
		// carry in their path (see previewGrant).
		to := fmt.Sprintf("/tasks/%s/preview/%d/%s%s/%s", t.ID, port, grantMark, a.previewGrant(t.ID, port, u.ID), rest)
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if isUpgrade(r) {
		// A WebSocket outlives the server's read and write timeouts.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	prefix := fmt.Sprintf("/tasks/%s/preview/%d/%s%s", t.ID, port, grantMark, grant)
	a.previewProxy(t.ID, port, prefix, "/"+path).ServeHTTP(w, r)
}

// previewProxy forwards a request to port in the task's sandbox. Nothing of the viewer's
// credentials goes to the agent's server, and nothing it answers can set or clear Sesame's cookies.
func (a *App) previewProxy(taskID string, port int, prefix, path string) *httputil.ReverseProxy {
	target := "localhost:" + strconv.Itoa(port)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme, out.URL.Host = "http", target
			out.URL.Path = path
			out.URL.RawPath = ""
			out.Host = target // dev servers check Host against localhost
			for _, h := range []string{"Cookie", "Authorization", "Proxy-Authorization", "X-Forwarded-For",
				"X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Forwarded"} {
				out.Header.Del(h)
			}
			out.Header.Set("X-Forwarded-Prefix", prefix)
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return a.Previews.DialPreview(ctx, taskID, port)
			},
			DisableKeepAlives:      true, // each request its own stream: nothing pooled outlives the sandbox
			ResponseHeaderTimeout:  60 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		ModifyResponse: func(resp *http.Response) error {
			h := resp.Header
			for _, name := range []string{"Set-Cookie", "Clear-Site-Data", "Strict-Transport-Security",
				"Content-Security-Policy-Report-Only", "Service-Worker-Allowed", "Refresh"} {
				h.Del(name)
			}
			h.Set("Content-Security-Policy", previewCSP)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cache-Control", "no-store")
			if loc := h.Get("Location"); loc != "" {
				h.Set("Location", previewLocation(loc, prefix, port))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status, msg := http.StatusBadGateway, fmt.Sprintf("The preview of port %d did not answer.", port)
			switch sesame.ErrorCode(err) {
			case sesame.ENOTFOUND, sesame.EINVALID:
				msg = sesame.ErrorMessage(err)
			}
			if !errors.Is(err, context.Canceled) {
				a.Logger.Info("preview failed", "task_id", taskID, "port", port, "err", err)
			}
			w.Header().Set("Cache-Control", "no-store")
			a.errorPage(w, r, status, msg)
		},
	}
}

// previewLocation keeps a redirect of the agent's server inside its preview: a path on the server,
// or an absolute URL to localhost on the same port, is rewritten under prefix; any other URL is
// left as it is (it leaves the preview).
func previewLocation(loc, prefix string, port int) string {
	u, err := url.Parse(loc)
	if err != nil {
		return prefix + "/"
	}
	if u.IsAbs() {
		host, p := u.Hostname(), u.Port()
		if (host != "localhost" && host != "127.0.0.1") || p != strconv.Itoa(port) {
			return loc
		}
		u.Scheme, u.Host = "", ""
	}
	if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return u.String() // protocol-relative (off-site) or relative (stays in the preview)
	}
	u.Path = prefix + u.Path
	u.RawPath = ""
	return u.String()
}

func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "upgrade") {
				return true
			}
		}
	}
	return false
}

// A preview's grant. A sandboxed page has an opaque origin: the browser sends no SameSite cookie
// (the session's) with what the page loads, and keeps a SameSite=None one only over HTTPS. So the
// signed-in viewer is sent on to the preview's address with a grant in its path, which every
// relative URL of the page keeps: the grant, signed with BETTER_AUTH_SECRET, names the task, the
// port, the viewer and when it expires, and is checked on every request with the viewer's account
// (banned or deleted: no longer good). It opens only that preview; it is never forwarded to the
// agent's server in a header, though the agent's page can read its own address.
const (
	grantMark = "~"
	grantTTL  = 12 * time.Hour
)

func (a *App) previewKey() []byte {
	m := hmac.New(sha256.New, []byte(a.Config.String(config.AuthSecret)))
	m.Write([]byte("sesame preview grant v1"))
	return m.Sum(nil)
}

func (a *App) grantMAC(taskID string, port int, userID string, expires int64) string {
	m := hmac.New(sha256.New, a.previewKey())
	fmt.Fprintf(m, "%s|%d|%s|%d", taskID, port, userID, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// previewGrant is a grant for userID to the preview of port of the task.
func (a *App) previewGrant(taskID string, port int, userID string) string {
	expires := time.Now().Add(grantTTL).Unix()
	return fmt.Sprintf("%s.%d.%s", userID, expires, a.grantMAC(taskID, port, userID, expires))
}

// grantUser is the user a grant for the task's port names, if it is genuine, has not expired and
// they may still sign in (they exist and are not banned).
func (a *App) grantUser(r *http.Request, grant, taskID string, port int) *sesame.User {
	parts := strings.Split(grant, ".")
	if len(parts) != 3 {
		return nil
	}
	expires, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || time.Now().Unix() > expires {
		return nil
	}
	if !hmac.Equal([]byte(parts[2]), []byte(a.grantMAC(taskID, port, parts[0], expires))) {
		return nil
	}
	u, err := a.Users.User(r.Context(), parts[0])
	if err != nil || u.Banned {
		return nil
	}
	return u
}

// previewPorts reads a preview event's ports (a JSON array: numbers once decoded).
func previewPorts(e sesame.TaskEvent) []int {
	out := []int{}
	switch ports := e.Data["ports"].(type) {
	case []int:
		out = append(out, ports...)
	case []any:
		for _, p := range ports {
			if f, ok := p.(float64); ok && f >= 1 && f <= 65535 && f == float64(int(f)) {
				out = append(out, int(f))
			}
		}
	}
	return out
}
