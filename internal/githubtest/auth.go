package githubtest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	docsCreateToken = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
	tokenLifetime   = time.Hour
	tokenAlphabet   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

type installation struct {
	id          int64
	account     string            // login of the account it is installed on: the first repository's owner
	repos       []string          // keys of s.repos, in the order added
	perms       map[string]string // e.g. "issues": "write"
	createdAt   time.Time
	suspendedAt time.Time // zero unless SuspendInstallation
}

type repository struct {
	id        int64
	fullName  string // as first given, e.g. "Octo/Hello"
	createdAt time.Time
	pushedAt  time.Time
	public    bool // repositories are private unless SetPrivate(name, false)

	gitDir string     // bare repository made by CreateRepo, else ""
	pushMu sync.Mutex // serializes receive-packs, so each sees its own updates
	pushes []string   // refs updated by pushes, in order
	pulls  []*pullState
}

// repoLocked returns the repository fullName, registering it if needed.
func (s *Server) repoLocked(fullName string) *repository {
	k := repoKey(fullName)
	if s.repos[k] == nil {
		now := s.nowLocked().Truncate(time.Second)
		s.repos[k] = &repository{id: s.newIDLocked(), fullName: fullName, createdAt: now, pushedAt: now}
	}
	return s.repos[k]
}

type token struct {
	installation int64
	expiresAt    time.Time
	all          bool     // no repositories asked for: it follows the installation's
	repos        []string // keys of s.repos asked for, when !all
	perms        map[string]string
}

// tokenReposLocked returns the keys of the repositories tok may use now: its
// installation's, or those asked for that the installation still has.
func (s *Server) tokenReposLocked(tok *token) []string {
	inst := s.installations[tok.installation]
	if inst == nil {
		return nil
	}
	if tok.all {
		return slices.Clone(inst.repos)
	}
	var out []string
	for _, k := range tok.repos {
		if slices.Contains(inst.repos, k) {
			out = append(out, k)
		}
	}
	return out
}

// defaultPermissions are the permissions an installation grants unless
// SetInstallationPermissions says otherwise.
func defaultPermissions() map[string]string {
	return map[string]string{"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write"}
}

func repoKey(fullName string) string { return strings.ToLower(fullName) }

// AddInstallation installs the app on repos ("owner/name"); calling it again
// for the same id adds repos. Repository names are matched without case, as
// GitHub does.
func (s *Server) AddInstallation(id int64, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installations[id]
	if inst == nil {
		inst = &installation{id: id, perms: defaultPermissions(), createdAt: s.nowLocked().Truncate(time.Second)}
		s.installations[id] = inst
	}
	for _, name := range repos {
		k := repoKey(name)
		s.repoLocked(name)
		if inst.account == "" {
			inst.account, _, _ = strings.Cut(s.repos[k].fullName, "/")
		}
		if !slices.Contains(inst.repos, k) {
			inst.repos = append(inst.repos, k)
		}
	}
}

// SetInstallationPermissions replaces the permissions installation id grants
// (e.g. {"issues": "read", "metadata": "read"}). Tokens issued later get them.
func (s *Server) SetInstallationPermissions(id int64, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installations[id]
	if inst == nil {
		panic(fmt.Sprintf("githubtest: SetInstallationPermissions: no installation %d", id))
	}
	inst.perms = make(map[string]string, len(perms))
	for k, v := range perms {
		inst.perms[k] = v
	}
}

// SuspendInstallation suspends installation id, as an account owner can:
// GitHub then still lists it, with suspended_at set, but issues no tokens for it.
func (s *Server) SuspendInstallation(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installations[id]
	if inst == nil {
		panic(fmt.Sprintf("githubtest: SuspendInstallation: no installation %d", id))
	}
	inst.suspendedAt = s.nowLocked().Truncate(time.Second)
}

// SetPrivate makes repo ("owner/name") private or public; repositories are
// private until told otherwise. It registers the repository if needed.
func (s *Server) SetPrivate(repo string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(repo).public = !private
}

// TokensIssued is the number of installation tokens issued so far.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// ExpireTokens makes every token issued so far expired, as if an hour had
// passed, without moving the clock that JWTs are judged by.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	for _, t := range s.tokens {
		t.expiresAt = now
	}
}

// tokenRequest is the body of POST /app/installations/{id}/access_tokens.
type tokenRequest struct {
	Repositories  []string          `json:"repositories"`
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

type tokenRepoJSON struct {
	ID       int64    `json:"id"`
	NodeID   string   `json:"node_id"`
	Name     string   `json:"name"`
	FullName string   `json:"full_name"`
	Private  bool     `json:"private"`
	Owner    userJSON `json:"owner"`
	HTMLURL  string   `json:"html_url"`
	URL      string   `json:"url"`
}

type tokenJSON struct {
	Token               string            `json:"token"`
	ExpiresAt           string            `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []tokenRepoJSON   `json:"repositories,omitempty"`
}

// handleCreateToken serves POST /app/installations/{id}/access_tokens.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	if !s.requireAppJWT(w, r) {
		return
	}
	var req tokenRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, msgProblemsParsing, docsCreateToken)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)

	s.mu.Lock()
	inst := s.installations[id]
	if inst == nil {
		s.mu.Unlock()
		writeNotFound(w, docsCreateToken)
		return
	}
	if !inst.suspendedAt.IsZero() {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "This installation has been suspended", docsCreateToken)
		return
	}
	repos, ok := s.selectReposLocked(inst, req)
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.", docsCreateToken)
		return
	}
	perms, ok := selectPermissions(inst.perms, req.Permissions)
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.", docsCreateToken)
		return
	}
	value := "ghs_" + randomString(36)
	all := len(req.Repositories) == 0 && len(req.RepositoryIDs) == 0
	tok := &token{installation: id, expiresAt: s.nowLocked().Add(tokenLifetime).Truncate(time.Second), all: all, repos: repos, perms: perms}
	s.tokens[value] = tok
	s.tokensIssued++
	resp := tokenJSON{Token: value, ExpiresAt: timestamp(tok.expiresAt), Permissions: perms, RepositorySelection: "selected"}
	if len(req.Repositories) > 0 || len(req.RepositoryIDs) > 0 {
		for _, k := range repos {
			resp.Repositories = append(resp.Repositories, s.tokenRepoJSONLocked(r, k))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

// selectReposLocked returns the repositories a new token may use: those
// asked for by name or ID, or all of the installation's.
func (s *Server) selectReposLocked(inst *installation, req tokenRequest) ([]string, bool) {
	if len(req.Repositories) == 0 && len(req.RepositoryIDs) == 0 {
		return slices.Clone(inst.repos), true
	}
	var out []string
	add := func(k string) bool {
		if !slices.Contains(inst.repos, k) {
			return false
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
		return true
	}
	for _, name := range req.Repositories {
		// "repositories" holds names without the owner; an installation
		// belongs to one account, so the name alone finds the repository.
		found := false
		for _, k := range inst.repos {
			if _, n, _ := strings.Cut(k, "/"); n == strings.ToLower(name) {
				found = add(k)
			}
		}
		if !found {
			return nil, false
		}
	}
	for _, id := range req.RepositoryIDs {
		found := false
		for k, repo := range s.repos {
			if repo.id == id {
				found = add(k)
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

func (s *Server) tokenRepoJSONLocked(r *http.Request, k string) tokenRepoJSON {
	repo := s.repos[k]
	owner, name, _ := strings.Cut(repo.fullName, "/")
	return tokenRepoJSON{
		ID:       repo.id,
		NodeID:   nodeID("R_kgDO", repo.id),
		Name:     name,
		FullName: repo.fullName,
		Private:  !repo.public,
		Owner:    s.userJSON(s.apiBase(r), s.userLocked(owner)),
		HTMLURL:  s.URL + "/" + repo.fullName,
		URL:      s.apiBase(r) + "/repos/" + repo.fullName,
	}
}

// selectPermissions returns the permissions a new token gets: the ones
// asked for, if the installation grants at least that much, or all of them.
func selectPermissions(granted, asked map[string]string) (map[string]string, bool) {
	out := map[string]string{}
	if len(asked) == 0 {
		for k, v := range granted {
			out[k] = v
		}
		return out, true
	}
	for k, v := range asked {
		if levelRank(granted[k]) < levelRank(v) || levelRank(v) == 0 {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

func levelRank(level string) int {
	switch level {
	case "read":
		return 1
	case "write":
		return 2
	case "admin":
		return 3
	}
	return 0
}

// authorize checks that r carries an issued, unexpired installation token
// ("token ghs_..." or "Bearer ghs_...") whose installation includes repo and
// which grants one of perms at level or above. Otherwise it answers as
// GitHub does (401, 404 or 403) and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, repo, level string, perms ...string) bool {
	tok, ok := s.installationToken(w, r)
	if !ok {
		return false
	}
	s.mu.Lock()
	inRepo := slices.Contains(s.tokenReposLocked(tok), repoKey(repo))
	s.mu.Unlock()
	if !inRepo {
		writeNotFound(w, docsREST)
		return false
	}
	for _, p := range perms {
		if levelRank(tok.perms[p]) >= levelRank(level) {
			return true
		}
	}
	writeError(w, http.StatusForbidden, msgNotAccessible, docsREST)
	return false
}

// installationToken returns the issued, unexpired installation token r
// carries ("token ghs_..." or "Bearer ghs_...") and records its
// installation. Otherwise it answers 401 as GitHub does and returns false.
func (s *Server) installationToken(w http.ResponseWriter, r *http.Request) (*token, bool) {
	header := r.Header.Get("Authorization")
	if header == "" {
		writeError(w, http.StatusUnauthorized, msgRequiresAuth, docsREST)
		return nil, false
	}
	scheme, cred, _ := strings.Cut(header, " ")
	s.mu.Lock()
	tok := s.tokens[cred]
	valid := tok != nil && s.nowLocked().Before(tok.expiresAt)
	s.mu.Unlock()
	if !valid || !(strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer")) {
		writeError(w, http.StatusUnauthorized, msgBadCredentials, docsREST)
		return nil, false
	}
	s.setInstallation(r, tok.installation)
	return tok, true
}

// decodeBody decodes a JSON body; an empty body or "null" leaves v as is.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}
