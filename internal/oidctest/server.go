// Package oidctest is an OpenID Connect provider for tests: a real discovery document, a JWKS, an
// authorization endpoint that signs in the configured user at once and redirects back with a code, a
// token endpoint that checks the client's secret, the redirect URI and the PKCE verifier and returns
// RS256-signed ID tokens, and a userinfo endpoint. Quirks make it misbehave one way at a time (a
// wrong nonce, audience, issuer or signature, an expired token, a refusal), so that tests can prove
// the client refuses what it must. It is for tests only.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Server is the provider. Its issuer is URL.
type Server struct {
	URL          string // the issuer: discovery at URL + "/.well-known/openid-configuration"
	ClientID     string // the one client it knows
	ClientSecret string

	key   *rsa.PrivateKey // signs ID tokens; its public half is in the JWKS as keyID
	other *rsa.PrivateKey // signs them instead under BadSignature, with the same key id

	mu           sync.Mutex
	user         *User
	quirks       Quirks
	redirectURIs []string // allowed; empty allows any
	codes        map[string]*grant
	tokens       map[string]*grant // by access token
	authRequests []AuthRequest
	tokenErrors  []string
}

const keyID = "oidctest-1"

// User is who the authorization endpoint signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Quirks each make the provider misbehave in one way. The zero value is a correct provider.
type Quirks struct {
	BadNonce      bool // the ID token's nonce is not the one the client sent
	NoNonce       bool // the ID token has no nonce
	WrongAudience bool // the ID token is for another client
	WrongIssuer   bool // the ID token names another issuer
	Expired       bool // the ID token expired an hour ago
	BadSignature  bool // the ID token is signed by a key that is not in the JWKS (under its key id)
	NoIDToken     bool // the token response has no id_token
	// EmailInUserinfoOnly leaves email, email_verified and name out of the ID token; userinfo has them.
	EmailInUserinfoOnly bool
	// UserinfoSubject, when set, is the sub userinfo answers with instead of the user's.
	UserinfoSubject string
	// Deny makes the authorization endpoint send the browser back with this error (e.g.
	// "access_denied") and DenyDescription, and no code.
	Deny, DenyDescription string
}

// AuthRequest is one request the authorization endpoint received.
type AuthRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod                       string
}

type grant struct {
	req     AuthRequest
	user    User
	expires time.Time
	used    bool
}

// NewServer starts a provider for the client clientID with secret; it stops when the test ends.
func NewServer(t testing.TB, clientID, clientSecret string) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ClientID: clientID, ClientSecret: clientSecret, key: key, other: other,
		codes: map[string]*grant{}, tokens: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SetUser makes u the person the authorization endpoint signs in; nil signs in nobody
// (error=login_required).
func (s *Server) SetUser(u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u != nil {
		c := *u
		u = &c
	}
	s.user = u
}

// SetQuirks replaces the quirks.
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quirks = q
}

// AllowRedirectURIs registers the client's redirect URIs; until it is called any is accepted.
func (s *Server) AllowRedirectURIs(uris ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectURIs = append(s.redirectURIs, uris...)
}

// AuthRequests returns the authorization requests received so far.
func (s *Server) AuthRequests() []AuthRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authRequests)
}

// TokenErrors returns the errors the token endpoint answered with so far (e.g. "invalid_grant:
// the code verifier does not match the code challenge").
func (s *Server) TokenErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokenErrors)
}

// AuthorizationEndpoint, TokenEndpoint and UserinfoEndpoint are where the discovery document points.
func (s *Server) AuthorizationEndpoint() string { return s.URL + "/authorize" }
func (s *Server) TokenEndpoint() string         { return s.URL + "/token" }
func (s *Server) UserinfoEndpoint() string      { return s.URL + "/userinfo" }

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.AuthorizationEndpoint(),
		"token_endpoint":                        s.TokenEndpoint(),
		"userinfo_endpoint":                     s.UserinfoEndpoint(),
		"jwks_uri":                              s.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &s.key.PublicKey, KeyID: keyID, Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

// authorize signs in the configured user at once (there is no login form) and redirects back to the
// client with a code, or with an error as RFC 6749 §4.1.2.1 says. A request with an unknown client or
// redirect URI gets a 400 page and no redirect.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := AuthRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), ResponseType: q.Get("response_type"),
		Scope: q.Get("scope"), State: q.Get("state"), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method")}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authRequests = append(s.authRequests, req)
	if req.ClientID != s.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(req.RedirectURI)
	if err != nil || back.Scheme == "" || (len(s.redirectURIs) > 0 && !slices.Contains(s.redirectURIs, req.RedirectURI)) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		v := back.Query()
		v.Set("error", code)
		if desc != "" {
			v.Set("error_description", desc)
		}
		if req.State != "" {
			v.Set("state", req.State)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	switch {
	case req.ResponseType != "code":
		fail("unsupported_response_type", "only the authorization code flow is supported")
	case !slices.Contains(strings.Fields(req.Scope), "openid"):
		fail("invalid_scope", "the openid scope is required")
	case req.CodeChallenge == "" || req.CodeChallengeMethod != "S256":
		fail("invalid_request", "PKCE with code_challenge_method S256 is required")
	case s.quirks.Deny != "":
		fail(s.quirks.Deny, s.quirks.DenyDescription)
	case s.user == nil:
		fail("login_required", "nobody is signed in")
	default:
		code := random()
		s.codes[code] = &grant{req: req, user: *s.user, expires: time.Now().Add(time.Minute)}
		v := back.Query()
		v.Set("code", code)
		if req.State != "" {
			v.Set("state", req.State)
		}
		v.Set("iss", s.URL) // RFC 9207
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
}

// token exchanges a code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6). A code works once, for the
// client it was issued to, with the redirect URI it was issued for and the verifier of its challenge.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt)
		return
	}
	g := s.codes[r.PostForm.Get("code")]
	switch {
	case g == nil || g.used || time.Now().After(g.expires):
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown, used or expired")
		return
	case g.req.ClientID != id:
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
		return
	case r.PostForm.Get("redirect_uri") != g.req.RedirectURI:
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	}
	g.used = true // even when the verifier is wrong: a code is tried once
	verifier := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.req.CodeChallenge {
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the code verifier does not match the code challenge")
		return
	}
	access := random()
	s.tokens[access] = g
	res := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "scope": g.req.Scope}
	if !s.quirks.NoIDToken {
		idToken, err := s.idToken(g)
		if err != nil {
			s.tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		res["id_token"] = idToken
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}

// idToken signs the ID token for g, bent by the quirks.
func (s *Server) idToken(g *grant) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss": s.URL, "sub": g.user.Subject, "aud": s.ClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Unix(),
	}
	if g.req.Nonce != "" && !s.quirks.NoNonce {
		claims["nonce"] = g.req.Nonce
	}
	if !s.quirks.EmailInUserinfoOnly {
		claims["email"], claims["email_verified"], claims["name"] = g.user.Email, g.user.EmailVerified, g.user.Name
	}
	q := s.quirks
	if q.BadNonce {
		claims["nonce"] = "not-" + g.req.Nonce
	}
	if q.WrongAudience {
		claims["aud"] = "another-client"
	}
	if q.WrongIssuer {
		claims["iss"] = "https://another-issuer.example"
	}
	if q.Expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	key := s.key
	if q.BadSignature {
		key = s.other
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// userinfo answers for a bearer access token (OIDC Core §5.3).
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.tokens[token]
	if !ok || g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	sub := g.user.Subject
	if s.quirks.UserinfoSubject != "" {
		sub = s.quirks.UserinfoSubject
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": sub, "email": g.user.Email,
		"email_verified": g.user.EmailVerified, "name": g.user.Name})
}

// tokenError answers a token request with an error and remembers it; s.mu is held.
func (s *Server) tokenError(w http.ResponseWriter, status int, code, desc string) {
	s.tokenErrors = append(s.tokenErrors, code+": "+desc)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random() string { return rand.Text() }
