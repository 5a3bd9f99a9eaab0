package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

const docsRateLimits = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"

// serveConditional serves a REST GET as GitHub does for conditional requests: a 200 carries an ETag
// (a hash of the body), and a request whose If-None-Match names it gets 304 Not Modified without a
// body, which GitHub does not count against the rate limit.
func (s *Server) serveConditional(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, r)
	for name, v := range rec.Header() {
		w.Header()[name] = v
	}
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		w.WriteHeader(rec.Code)
		w.Write(body)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:20]) + `"`
	w.Header().Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.Header().Del("Content-Length")
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// SpendRateLimit makes the installations' rate limit spent for d: every REST call under /repos/ and
// /installation/ is answered 403 with GitHub's "API rate limit exceeded" error, 0 remaining and the
// reset time, until then.
func (s *Server) SpendRateLimit(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateSpentTill = s.nowLocked().Add(d)
}

// RateLimited returns how many calls were refused for a spent rate limit.
func (s *Server) RateLimited() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusForbidden && strings.HasPrefix(r.Path, "/repos/") {
			n++
		}
	}
	return n
}

// rateSpent answers r for a spent rate limit and reports whether it did.
func (s *Server) rateSpent(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	till, now := s.rateSpentTill, s.nowLocked()
	s.mu.Unlock()
	if !now.Before(till) || !(strings.HasPrefix(r.URL.Path, "/repos/") || strings.HasPrefix(r.URL.Path, "/installation/")) {
		return false
	}
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(rateLimit))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(till.Add(time.Second-1).Unix(), 10))
	writeError(w, http.StatusForbidden, "API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for help, please include the request ID.", docsRateLimits)
	return true
}
