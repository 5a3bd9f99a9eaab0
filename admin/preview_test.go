package admin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
)

// devServer stands in for the agent's server in its sandbox: it records what reached it and
// answers as a hostile agent would, trying to set and clear Sesame's cookies.
type devServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newDevServer(t *testing.T) *devServer {
	d := &devServer{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.seen = append(d.seen, r.Clone(context.Background()))
		d.mu.Unlock()
		switch r.URL.Path {
		case "/ws":
			if r.Header.Get("Upgrade") != "websocket" {
				http.Error(w, "want an upgrade", http.StatusBadRequest)
				return
			}
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			line, _ := brw.ReadString('\n') // echo one line back, upper-cased
			fmt.Fprint(brw, strings.ToUpper(line))
			brw.Flush()
		case "/go-home":
			http.Redirect(w, r, "/home?x=1", http.StatusFound)
		case "/go-localhost":
			http.Redirect(w, r, "http://localhost:"+r.Host[strings.LastIndex(r.Host, ":")+1:]+"/abs", http.StatusFound)
		default:
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "planted", Path: "/"})
			w.Header().Set("Clear-Site-Data", `"cookies", "storage"`)
			w.Header().Set("Content-Security-Policy", "default-src *")
			fmt.Fprintf(w, "dev page %s?%s", r.URL.Path, r.URL.RawQuery)
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *devServer) last() *http.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		return nil
	}
	return d.seen[len(d.seen)-1]
}

// sandboxPreviews reaches the dev server for one task and port, as the gateway would; other ports
// have nothing listening, other tasks no sandbox.
type sandboxPreviews struct {
	taskID string
	port   int
	addr   string
}

func (p *sandboxPreviews) DialPreview(ctx context.Context, taskID string, port int) (net.Conn, error) {
	if taskID != p.taskID {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "The task's sandbox is not running on this server.")
	}
	if port != p.port {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "Nothing listens on port %d in the task's sandbox (yet).", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", p.addr)
}

// previewEnv is an app whose task (Bob's) has a dev server on port 8080 in its sandbox.
func previewEnv(t *testing.T) (e *env, srv *httptest.Server, dev *devServer, task *sesame.Task, bob, carol, adminBrowser *client) {
	e = newEnv(t)
	adminBrowser = e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	carol, _ = e.addUser(t, "Carol", "carol@example.com", sesame.RoleUser)
	task = e.webTask(t, bobUser.ID, "Bob's task")
	dev = newDevServer(t)
	opts := e.opts
	opts.Previews = &sandboxPreviews{taskID: task.ID, port: 8080, addr: dev.srv.Listener.Addr().String()}
	app, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(app)
	t.Cleanup(srv.Close)
	for _, c := range []*client{bob, carol, adminBrowser} {
		c.base = srv.URL
	}
	return e, srv, dev, task, bob, carol, adminBrowser
}

// follow GETs path and follows redirects that stay on the app, returning the last response and
// the path it came from.
func follow(c *client, path string, headers ...string) (response, string) {
	c.t.Helper()
	for range 5 {
		req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		r := c.do(req)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/tasks/") {
			return r, path
		}
		path = r.location
	}
	c.t.Fatalf("too many redirects from %s", path)
	return response{}, ""
}

func TestPreviewReachesTheSandboxsServerForItsOwnerOnly(t *testing.T) {
	_, srv, dev, task, bob, carol, adminBrowser := previewEnv(t)
	base := fmt.Sprintf("/tasks/%s/preview/8080/", task.ID)

	r, at := follow(bob, base+"app/page?q=1", "Authorization", "Bearer sesame-token", "X-Forwarded-For", "10.0.0.1")
	bob.mustStatus(r, http.StatusOK, "bob opens his preview")
	if r.body != "dev page /app/page?q=1" {
		t.Errorf("the dev server was asked for %q", r.body)
	}
	if !strings.HasPrefix(at, base+"~") {
		t.Errorf("the preview is served at %s, not under a grant", at)
	}
	seen := dev.last()
	if seen.Header.Get("Cookie") != "" || seen.Header.Get("Authorization") != "" || seen.Header.Get("X-Forwarded-For") != "" {
		t.Errorf("the viewer's credentials reached the agent's server: %v", seen.Header)
	}
	if !strings.HasPrefix(seen.Host, "localhost:") {
		t.Errorf("the dev server saw Host %q", seen.Host)
	}
	// What the agent answers cannot set or clear Sesame's cookies, and runs sandboxed.
	if strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "planted") || r.header.Get("Clear-Site-Data") != "" {
		t.Errorf("the agent's Set-Cookie or Clear-Site-Data reached the browser: %v", r.header)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox ") || strings.Contains(csp, "allow-same-origin") {
		t.Errorf("the preview's CSP is %q", csp)
	}
	// Redirects stay inside the preview.
	grant := at[:strings.Index(at, "/app/page")]
	if r := bob.get(grant + "/go-home"); r.location != grant+"/home?x=1" {
		t.Errorf("a redirect to /home became %q", r.location)
	}
	if r := bob.get(grant + "/go-localhost"); r.location != grant+"/abs" {
		t.Errorf("a redirect to http://localhost:port/abs became %q", r.location)
	}

	// Carol is told there is no such task, with or without Bob's grant; so is a signed-out visitor
	// with a forged or altered grant.
	carol.mustStatus(carol.get(base), http.StatusNotFound, "carol opens bob's preview")
	anon := &client{t: t, base: srv.URL, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if r := anon.get(base); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login?next=") {
		t.Errorf("a signed-out visitor: %d %q", r.status, r.location)
	}
	tampered := strings.Replace(grant, "/preview/8080/", "/preview/8081/", 1)
	forged := grant[:len(grant)-4] + "AAAA"
	for _, g := range []string{tampered, forged, base + "~x.1.y"} {
		if r := anon.get(g + "/"); r.status == http.StatusOK {
			t.Errorf("%s opened the preview for a signed-out visitor", g)
		}
	}
	// The genuine grant works without a session (the sandboxed page's requests carry no cookie).
	if r := anon.get(grant + "/asset.js"); r.status != http.StatusOK || r.body != "dev page /asset.js?" {
		t.Errorf("a request under the grant without cookies: %d %q", r.status, snippet(r.body))
	}
	// An admin may open it; a port with nothing on it says so.
	r, _ = follow(adminBrowser, base)
	adminBrowser.mustStatus(r, http.StatusOK, "admin opens bob's preview")
	r, _ = follow(bob, fmt.Sprintf("/tasks/%s/preview/9999/", task.ID))
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "Nothing listens on port 9999") {
		t.Errorf("a port with nothing: %d %s", r.status, snippet(r.body))
	}
	for _, bad := range []string{"0", "65536", "80x", "08080"} {
		bob.mustStatus(bob.get(fmt.Sprintf("/tasks/%s/preview/%s/", task.ID, bad)), http.StatusNotFound, "port "+bad)
	}
}

func TestPreviewCarriesWebSockets(t *testing.T) {
	_, srv, _, task, bob, _, _ := previewEnv(t)
	r, _ := follow(bob, fmt.Sprintf("/tasks/%s/preview/8080/", task.ID))
	bob.mustStatus(r, http.StatusOK, "open the preview")
	grant := ""
	// The grant from the redirect, as the page's own WebSocket would use it.
	first := bob.get(fmt.Sprintf("/tasks/%s/preview/8080/ws", task.ID))
	grant = first.location
	if !strings.HasSuffix(grant, "/ws") {
		t.Fatalf("no grant redirect: %d %q", first.status, grant)
	}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: null\r\n\r\n", grant, srv.Listener.Addr())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upgrade answered %d: %s", resp.StatusCode, b)
	}
	fmt.Fprint(conn, "hello through the preview\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HELLO THROUGH THE PREVIEW\n" {
		t.Errorf("echo over the WebSocket: %q %v", line, err)
	}
}
