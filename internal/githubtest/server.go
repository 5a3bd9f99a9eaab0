package githubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// enterprisePrefix is where GitHub Enterprise Server serves the REST API.
const enterprisePrefix = "/api/v3"

// Server is a GitHub-shaped HTTP server that records what clients did.
// Set the exported fields, if at all, before the code under test runs.
type Server struct {
	URL           string // base URL: REST API at URL+"/" and URL+"/api/v3/"
	AppID         int64  // the GitHub App's ID, accepted as the JWT "iss"
	AppSlug       string // "sesame-test"; the bot user is AppSlug+"[bot]"
	ClientID      string // the app's client ID, also accepted as the JWT "iss"
	PrivateKeyPEM []byte // the app's RSA private key, PKCS#1 PEM

	publicKey *rsa.PublicKey
	mux       *http.ServeMux

	// reqMu guards the request log and the failure queue. It is never held
	// while taking mu, so handlers may record while holding mu.
	reqMu    sync.Mutex
	requests []Request
	failures []failure

	mu            sync.Mutex    // guards everything below
	offset        time.Duration // added to time.Now by Advance
	nextID        int64
	installations map[int64]*installation
	repos         map[string]*repository // by lower-case "owner/name"
	tokens        map[string]*token      // by token value
	tokensIssued  int
	users         map[string]*user             // by lower-case login
	userTokens    map[string]string            // personal access token -> lower-case login
	roles         map[string]map[string]string // repo key -> login key -> role
	comments      map[int64]*Comment
	commentOrder  []int64
	reactions     map[int64][]reaction // by comment ID
	rateSpentTill time.Time            // SpendRateLimit: REST calls are refused until then
	reviews       map[int64]*ReviewComment
	reviewOrder   []int64
	// The manifest flow (manifest.go): manifests received, and the app the last conversion made.
	manifests  []*pendingManifest
	hookSecret string
	hookURL    string
	setupURL   string
	appName    string
}

// Request is one request the server received. It never holds credentials:
// Auth is only the scheme of the Authorization header.
type Request struct {
	Method       string
	Path         string // without the "/api/v3" prefix
	Enterprise   bool   // sent under "/api/v3"
	Query        string // raw query string
	Body         string // empty for git's smart HTTP requests, which are binary
	Auth         string // "Bearer", "token", "Basic" or "" (no header)
	Installation int64  // installation whose token authenticated it, else 0
	Status       int    // status code of the answer
}

type failure struct {
	method, prefix string
	status         int
	body           string
}

type ctxKey struct{}

// reqInfo travels in the request context from ServeHTTP to the handlers.
type reqInfo struct {
	index  int    // position in s.requests
	prefix string // "" or "/api/v3", to build URLs the way the client called
}

// NewServer starts a server on a loopback port and closes it when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	k := appKey(t)
	s := &Server{
		AppID:         424242,
		AppSlug:       "sesame-test",
		ClientID:      "Iv23liSesameTest0001",
		PrivateKeyPEM: bytes.Clone(k.pem),
		publicKey:     &k.priv.PublicKey,
		nextID:        3_000_000_000, // past int32, as GitHub's IDs are
		installations: map[int64]*installation{},
		repos:         map[string]*repository{},
		tokens:        map[string]*token{},
		users:         map[string]*user{},
		userTokens:    map[string]string{},
		roles:         map[string]map[string]string{},
		comments:      map[int64]*Comment{},
		reactions:     map[int64][]reaction{},
	}
	s.mux = http.NewServeMux()
	s.routes()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /app", s.handleGetApp)
	s.mux.HandleFunc("GET /app/installations", s.handleListInstallations)
	s.mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.handleCreateToken)
	s.mux.HandleFunc("GET /installation/repositories", s.handleListInstallationRepos)
	s.mux.HandleFunc("GET /user", s.handleGetUser)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.handlePermission)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.handleCreateComment)
	// GET .../issues/comments/{id} and GET .../issues/{number}/comments overlap: one pattern serves both.
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{a}/{b}", s.handleIssuesGet)
	s.mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.handleEditComment)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/issues/comments/{id}/reactions", s.handleCreateReaction)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}", s.handleGetRepo)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.handleCreatePull)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.handleListPulls)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.handleGetPull)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/pulls/{number}/comments/{id}/replies", s.handleReplyToReviewComment)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/pulls/{number}/comments", s.handleCreateReviewComment)
	s.mux.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/comments/{id}", s.handleEditReviewComment)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/pulls/comments/{id}/reactions", s.handleReactToReviewComment)
	s.mux.HandleFunc("GET /app/hook/config", s.handleHookConfig)
	s.mux.HandleFunc("POST /settings/apps/new", s.handleNewApp)
	s.mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.handleNewApp)
	s.mux.HandleFunc("POST /settings/apps/new/{code}/create", s.handleCreateApp)
	s.mux.HandleFunc("POST /app-manifests/{code}/conversions", s.handleConversion)
	s.mux.HandleFunc("GET /apps/{slug}/installations/new", s.handleInstallPage)
	s.mux.HandleFunc("POST /apps/{slug}/installations/new", s.handleInstall)
	s.mux.HandleFunc("GET /{owner}/{repo}/info/refs", s.handleGit)
	s.mux.HandleFunc("POST /{owner}/{repo}/git-upload-pack", s.handleGit)
	s.mux.HandleFunc("POST /{owner}/{repo}/git-receive-pack", s.handleGit)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeNotFound(w, docsREST) })
}

// ServeHTTP records the request, applies FailNext, and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := reqInfo{}
	if p := r.URL.Path; p == enterprisePrefix || strings.HasPrefix(p, enterprisePrefix+"/") {
		info.prefix = enterprisePrefix
		r.URL.Path = strings.TrimPrefix(p, enterprisePrefix)
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}
		r.URL.RawPath = ""
	}
	git := isGitPath(r.URL.Path)
	limit := int64(25 << 20) // GitHub's limit for a REST request body
	if git {
		limit = 2 << 30 // GitHub's limit for a push
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
	// The body is now in memory: give it a length, as a chunked request
	// (git sends large packs so) is one net/http/cgi refuses to pass on.
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	recorded := string(body)
	if git {
		recorded = "" // pkt-lines and packs: binary, and large
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")

	s.reqMu.Lock()
	info.index = len(s.requests)
	s.requests = append(s.requests, Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		Enterprise: info.prefix != "",
		Query:      r.URL.RawQuery,
		Body:       recorded,
		Auth:       scheme,
	})
	f, fail := s.takeFailureLocked(r.Method, r.URL.Path)
	used := len(s.requests)
	s.reqMu.Unlock()

	rw := &statusWriter{ResponseWriter: w, record: func(code int) {
		s.reqMu.Lock()
		s.requests[info.index].Status = code
		s.reqMu.Unlock()
	}}
	setGitHubHeaders(rw.Header(), used, s.now())
	if fail {
		writeFailure(rw, f)
		return
	}
	if !git && s.rateSpent(rw, r) {
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
	if r.Method == http.MethodGet && !git {
		s.serveConditional(rw, r)
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// rateLimit is the hourly request limit the server reports: GitHub's for an
// app installation on a GitHub Enterprise Cloud organization.
const rateLimit = 15000

// setGitHubHeaders sets the headers every GitHub REST answer carries. The
// rate limit never reports 0 remaining: go-github would then refuse to send
// requests until the reset, which no test means to exercise by accident.
func setGitHubHeaders(h http.Header, used int, now time.Time) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", strings.ToUpper(hex.EncodeToString(id[:])))
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(1, rateLimit-used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(min(used, rateLimit-1)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// statusWriter records the status code before any of the answer is sent,
// so a client never sees an answer whose Request has no Status yet.
type statusWriter struct {
	http.ResponseWriter
	record func(code int)
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func info(r *http.Request) reqInfo {
	i, _ := r.Context().Value(ctxKey{}).(reqInfo)
	return i
}

// setInstallation records which installation authenticated the request.
func (s *Server) setInstallation(r *http.Request, id int64) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.requests[info(r).index].Installation = id
}

// apiBase is the REST base URL as the client used it, without a trailing slash.
func (s *Server) apiBase(r *http.Request) string { return s.URL + info(r).prefix }

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// FailNext makes the next request whose method matches (case-insensitive;
// "" matches any) and whose path, without "/api/v3", starts with pathPrefix
// fail with status. body is the "message" of GitHub's error JSON, or, if it
// is a JSON object, the whole answer. The failure comes before any
// authentication and changes no state. Failures queue up in call order.
func (s *Server) FailNext(method, pathPrefix string, status int, body string) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.failures = append(s.failures, failure{method: method, prefix: pathPrefix, status: status, body: body})
}

func (s *Server) takeFailureLocked(method, path string) (failure, bool) {
	for i, f := range s.failures {
		if (f.method == "" || strings.EqualFold(f.method, method)) && strings.HasPrefix(path, f.prefix) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return failure{}, false
}

// WaitFor polls cond every 10ms until it is true, and fails the test if it
// is still false after timeout.
func (s *Server) WaitFor(t testing.TB, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("githubtest: condition not met within %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Advance moves the server's clock forward by d: tokens and JWTs are judged
// against time.Now plus every Advance so far.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return time.Now().Add(s.offset).UTC() }

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// timestamp formats t as GitHub does: RFC 3339, UTC, whole seconds.
func timestamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
