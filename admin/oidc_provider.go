package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-works/sesame/config"
)

// oidcSettings are the OIDC_* settings as they are now (admins change them without a restart).
type oidcSettings struct {
	Enabled                        bool
	ID, Name                       string // OIDC_PROVIDER_ID (in the callback URL), OIDC_PROVIDER_NAME (on the button)
	ClientID, ClientSecret         string
	Issuer                         string
	AuthURL, TokenURL, UserInfoURL string // manual endpoints: each used instead of the discovered one
	Scopes                         []string
	AllowSignUp                    bool
}

// oidcSettings reads the OIDC settings as they are now.
func (a *App) oidcSettings(ctx context.Context) (oidcSettings, error) {
	cfg, err := a.settings(ctx)
	if err != nil {
		return oidcSettings{}, err
	}
	s := oidcSettings{
		Enabled: cfg.Bool(config.OIDCEnabled),
		ID:      strings.TrimSpace(cfg.String(config.OIDCProviderID)), Name: strings.TrimSpace(cfg.String(config.OIDCProviderName)),
		ClientID: cfg.String(config.OIDCClientID), ClientSecret: cfg.String(config.OIDCClientSecret),
		Issuer:  strings.TrimSpace(cfg.String(config.OIDCIssuer)),
		AuthURL: cfg.String(config.OIDCAuthorizationURL), TokenURL: cfg.String(config.OIDCTokenURL), UserInfoURL: cfg.String(config.OIDCUserInfoURL),
		Scopes:      cfg.List(config.OIDCScopes),
		AllowSignUp: cfg.Bool(config.OIDCAllowSignUp),
	}
	if s.Name == "" {
		s.Name = "SSO"
	}
	// The openid scope makes it OpenID Connect: without it there is no ID token to verify.
	if !slices.Contains(s.Scopes, oidc.ScopeOpenID) {
		s.Scopes = append([]string{oidc.ScopeOpenID}, s.Scopes...)
	}
	return s, nil
}

// problem says what keeps these settings from signing anyone in, in words for an admin; "" when
// nothing does.
func (s oidcSettings) problem() string {
	switch {
	case s.ID == "":
		return "OIDC_PROVIDER_ID is empty"
	case s.ClientID == "":
		return "OIDC_CLIENT_ID is not set"
	case s.Issuer == "":
		// Manual endpoints do not replace the issuer: an ID token is trusted only when it is signed
		// by a key the issuer publishes (its discovery document's jwks_uri) and names that issuer.
		return "OIDC_ISSUER is not set: Sesame verifies every ID token with the keys its issuer publishes, so the issuer is needed even with manual endpoints"
	}
	return ""
}

// oidcCallbackPath is where the provider sends the browser back; the redirect URL registered at
// the provider is BASE_URL followed by it.
func oidcCallbackPath(providerID string) string {
	return "/auth/oidc/" + url.PathEscape(providerID) + "/callback"
}

// redirectURL is the callback's full URL, as registered at the provider.
func (a *App) oidcRedirectURL(providerID string) string {
	return strings.TrimSuffix(a.Config.String(config.ServerBaseURL), "/") + oidcCallbackPath(providerID)
}

// oidcTimeout bounds each request to the provider (discovery, keys, token, userinfo).
const oidcTimeout = 15 * time.Second

// providerTTL is how long a discovered provider is used before its discovery document is read
// again. Keys are refreshed sooner: go-oidc fetches the JWKS again when a token names an unknown key.
const providerTTL = time.Hour

// oidcProviders caches the provider discovered from each issuer (with the manual endpoints laid
// over it), so that discovery and the keys are fetched once, not at every sign-in.
type oidcProviders struct {
	client *http.Client
	mu     sync.Mutex
	cache  map[oidcProviderKey]cachedProvider
}

type oidcProviderKey struct{ issuer, authURL, tokenURL, userInfoURL string }

type cachedProvider struct {
	p         *oidc.Provider
	authStyle oauth2.AuthStyle // how the client authenticates at the token endpoint
	fetched   time.Time
}

func newOIDCProviders() *oidcProviders {
	return &oidcProviders{client: &http.Client{Timeout: oidcTimeout}, cache: map[oidcProviderKey]cachedProvider{}}
}

// context carries the providers' HTTP client to go-oidc and oauth2.
func (c *oidcProviders) context(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, c.client), oauth2.HTTPClient, c.client)
}

// errNoKeys is a discovery document without a jwks_uri: its ID tokens could not be verified.
var errNoKeys = errors.New("the discovery document has no jwks_uri, so ID tokens cannot be verified")

// provider returns the provider of s's issuer, discovering it when it is not cached or is stale.
func (c *oidcProviders) provider(ctx context.Context, s oidcSettings) (cachedProvider, error) {
	key := oidcProviderKey{s.Issuer, s.AuthURL, s.TokenURL, s.UserInfoURL}
	c.mu.Lock()
	cached, ok := c.cache[key]
	c.mu.Unlock()
	if ok && time.Since(cached.fetched) < providerTTL {
		return cached, nil
	}
	// Not under the lock: a slow provider holds up only the sign-ins that need it. Two sign-ins
	// racing both discover; the later one is kept.
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	p, err := oidc.NewProvider(c.context(ctx), s.Issuer)
	if err != nil {
		return cachedProvider{}, fmt.Errorf("discover %s: %w", s.Issuer, err)
	}
	var meta struct {
		JWKS        string   `json:"jwks_uri"`
		Algorithms  []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return cachedProvider{}, fmt.Errorf("discover %s: %w", s.Issuer, err)
	}
	if meta.JWKS == "" {
		return cachedProvider{}, fmt.Errorf("discover %s: %w", s.Issuer, errNoKeys)
	}
	if s.AuthURL != "" || s.TokenURL != "" || s.UserInfoURL != "" {
		found := p.Endpoint()
		p = (&oidc.ProviderConfig{
			IssuerURL:   s.Issuer,
			AuthURL:     orElse(s.AuthURL, found.AuthURL),
			TokenURL:    orElse(s.TokenURL, found.TokenURL),
			UserInfoURL: orElse(s.UserInfoURL, p.UserInfoEndpoint()),
			JWKSURL:     meta.JWKS,
			Algorithms:  signingAlgorithms(meta.Algorithms),
		}).NewProvider(c.context(context.WithoutCancel(ctx)))
	}
	if p.Endpoint().AuthURL == "" || p.Endpoint().TokenURL == "" {
		return cachedProvider{}, fmt.Errorf("discover %s: no authorization or token endpoint (set OIDC_AUTHORIZATION_URL and OIDC_TOKEN_URL)", s.Issuer)
	}
	// How the client authenticates at the token endpoint: HTTP Basic unless the provider says it
	// takes only the secret in the form (client_secret_basic is the default of OIDC Discovery).
	style := oauth2.AuthStyleInHeader
	if len(meta.AuthMethods) > 0 && !slices.Contains(meta.AuthMethods, "client_secret_basic") && slices.Contains(meta.AuthMethods, "client_secret_post") {
		style = oauth2.AuthStyleInParams
	}
	c.mu.Lock()
	cached = cachedProvider{p: p, authStyle: style, fetched: time.Now()}
	c.cache[key] = cached
	c.mu.Unlock()
	return cached, nil
}

// signingAlgorithms keeps the asymmetric algorithms go-oidc verifies; nil (RS256) when none is left.
func signingAlgorithms(algs []string) []string {
	known := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	var out []string
	for _, a := range algs {
		if slices.Contains(known, a) {
			out = append(out, a)
		}
	}
	return out
}

func orElse(s, otherwise string) string {
	if s != "" {
		return s
	}
	return otherwise
}
