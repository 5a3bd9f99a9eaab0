package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	sesame "github.com/sesame-works/sesame"
)

// Sign-in with OpenID Connect: the authorization code flow with PKCE (S256), a state and a nonce
// kept in the session, and an ID token verified with the issuer's published keys (signature,
// issuer, audience = OIDC_CLIENT_ID, expiry, nonce).
//
// Who signs in: the user whose identity (provider, issuer, subject) it is; else the user with the
// same email address when the provider says the address is verified, and the identity is linked
// to them; else a new user (role user, no password) when OIDC_ALLOW_SIGNUP is on and the address is
// verified. An unverified address never links to an existing account, nor makes a new one.

// sessionOIDCFlow holds the sign-in under way (an oidcFlow, as JSON) between start and callback.
const sessionOIDCFlow = "oidc_flow"

// oidcFlowTTL is how long a started sign-in may take at the provider.
const oidcFlowTTL = 10 * time.Minute

type oidcFlow struct {
	Provider string    `json:"provider"`
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"` // PKCE code verifier
	Next     string    `json:"next"`
	Started  time.Time `json:"started"`
}

func (a *App) oidcRoutes(mux *http.ServeMux) {
	a.oidc = newOIDCProviders()
	mux.HandleFunc("GET /auth/oidc/{provider}", a.oidcStart)
	mux.HandleFunc("GET /auth/oidc/{provider}/callback", a.oidcCallback)
}

// oidcButton is the sign-in page's "Sign in with …" link; nil when OIDC is off.
type oidcButton struct {
	Name, URL string
}

// oidcButtonFor returns the button to show on the sign-in page, going on to next afterwards.
func (a *App) oidcButtonFor(r *http.Request, next string) *oidcButton {
	s, err := a.oidcSettings(r.Context())
	if err != nil {
		a.Logger.Error("read saved settings", "err", err)
		return nil
	}
	if !s.Enabled || s.ID == "" {
		return nil
	}
	u := "/auth/oidc/" + url.PathEscape(s.ID)
	if next != "" {
		u += "?next=" + url.QueryEscape(next)
	}
	return &oidcButton{Name: s.Name, URL: u}
}

// enabledProvider returns the settings when OIDC is on and the path names its provider, else
// answers 404 and returns ok false.
func (a *App) enabledProvider(w http.ResponseWriter, r *http.Request) (oidcSettings, bool) {
	s, err := a.oidcSettings(r.Context())
	if err != nil {
		a.serverError(w, r, "read saved settings", err)
		return s, false
	}
	if !s.Enabled || s.ID == "" || r.PathValue("provider") != s.ID {
		a.notFound(w, r)
		return s, false
	}
	return s, true
}

// oidcStart sends the browser to the provider with a fresh state, nonce and PKCE challenge.
func (a *App) oidcStart(w http.ResponseWriter, r *http.Request) {
	s, ok := a.enabledProvider(w, r)
	if !ok {
		return
	}
	next := r.URL.Query().Get("next")
	if a.currentUser(r) != nil {
		http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
		return
	}
	if p := s.problem(); p != "" {
		a.Logger.Error("OIDC sign-in is not configured", "problem", p)
		a.oidcRefused(w, r, http.StatusServiceUnavailable, next,
			fmt.Sprintf("Sign-in with %s is not set up correctly (%s). Ask an admin of this Sesame server.", s.Name, p))
		return
	}
	provider, err := a.oidc.provider(r.Context(), s)
	if err != nil {
		a.Logger.Error("OIDC discovery", "issuer", s.Issuer, "err", err)
		a.oidcRefused(w, r, http.StatusBadGateway, next,
			fmt.Sprintf("Sesame could not reach %s to sign you in. Try again in a moment; if it keeps failing, an admin can find the reason in the log.", s.Name))
		return
	}
	flow := oidcFlow{Provider: s.ID, State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Next: next, Started: time.Now()}
	b, err := json.Marshal(flow)
	if err != nil {
		a.serverError(w, r, "encode OIDC flow", err)
		return
	}
	// A second sign-in started before the first came back replaces it: only the latest can finish.
	a.sessions.Put(r.Context(), sessionOIDCFlow, string(b))
	to := a.oauth2Config(s, provider).AuthCodeURL(flow.State, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier))
	http.Redirect(w, r, to, http.StatusFound)
}

func (a *App) oauth2Config(s oidcSettings, p cachedProvider) *oauth2.Config {
	endpoint := p.p.Endpoint()
	endpoint.AuthStyle = p.authStyle
	return &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: endpoint,
		RedirectURL: a.oidcRedirectURL(s.ID), Scopes: s.Scopes}
}

// oidcClaims are what Sesame reads of an ID token or userinfo answer.
type oidcClaims struct {
	Subject       string    `json:"sub"`
	Email         string    `json:"email"`
	EmailVerified *flexBool `json:"email_verified"`
	Name          string    `json:"name"`
	Username      string    `json:"preferred_username"`
}

// flexBool is a JSON boolean that some providers send as the string "true" or "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf("email_verified: not a boolean: %s", data)
	}
	return nil
}

// oidcCallback finishes the sign-in: it checks the state, exchanges the code with the PKCE verifier,
// verifies the ID token and its nonce, and signs in, links or creates the user.
func (a *App) oidcCallback(w http.ResponseWriter, r *http.Request) {
	s, ok := a.enabledProvider(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	var flow oidcFlow
	raw := a.sessions.PopString(ctx, sessionOIDCFlow) // used once, whatever happens next
	if raw == "" || json.Unmarshal([]byte(raw), &flow) != nil || flow.Provider != s.ID ||
		subtle.ConstantTimeCompare([]byte(flow.State), []byte(q.Get("state"))) != 1 {
		a.oidcFailed(r, nil, s, "state does not match a sign-in started in this browser")
		a.oidcRefused(w, r, http.StatusBadRequest, "",
			fmt.Sprintf("This sign-in with %s was not started in this browser, or was replaced by a newer one. Start again.", s.Name))
		return
	}
	if time.Since(flow.Started) > oidcFlowTTL {
		a.oidcFailed(r, nil, s, "sign-in took too long")
		a.oidcRefused(w, r, http.StatusBadRequest, flow.Next, fmt.Sprintf("This sign-in with %s took too long. Start again.", s.Name))
		return
	}
	if e := q.Get("error"); e != "" {
		msg := fmt.Sprintf("%s did not sign you in: %s", s.Name, e)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + d + ")"
		}
		a.oidcFailed(r, nil, s, "provider error: "+e)
		a.oidcRefused(w, r, http.StatusUnauthorized, flow.Next, msg+".")
		return
	}
	code := q.Get("code")
	if code == "" {
		a.oidcFailed(r, nil, s, "no code")
		a.oidcRefused(w, r, http.StatusBadRequest, flow.Next, fmt.Sprintf("%s sent you back without a sign-in code. Start again.", s.Name))
		return
	}
	if p := s.problem(); p != "" { // settings changed while the user was away
		a.oidcRefused(w, r, http.StatusServiceUnavailable, flow.Next,
			fmt.Sprintf("Sign-in with %s is not set up correctly (%s). Ask an admin of this Sesame server.", s.Name, p))
		return
	}
	id, claims, err := a.oidcVerify(ctx, s, flow, code)
	if err != nil {
		a.Logger.Warn("OIDC sign-in refused", "issuer", s.Issuer, "err", err)
		a.oidcFailed(r, nil, s, err.Error())
		var refused *oidcRefusal
		if errors.As(err, &refused) {
			a.oidcRefused(w, r, refused.status, flow.Next, refused.msg)
			return
		}
		a.oidcRefused(w, r, http.StatusBadGateway, flow.Next,
			fmt.Sprintf("Sesame could not verify your sign-in with %s. Try again; if it keeps failing, an admin can find the reason in the log.", s.Name))
		return
	}
	u, status, msg, err := a.oidcUser(r, s, id, claims)
	if err != nil {
		a.serverError(w, r, "OIDC sign-in", err)
		return
	}
	if u == nil {
		a.oidcRefused(w, r, status, flow.Next, msg)
		return
	}
	if err := a.signIn(r, u); err != nil {
		a.serverError(w, r, "start session", err)
		return
	}
	a.audit(r, u, sesame.AuditSignIn, sesame.ResourceUser, u.ID, map[string]any{"method": "oidc", "provider": s.ID})
	http.Redirect(w, r, safeNext(flow.Next), http.StatusSeeOther)
}

// oidcRefusal is a refusal whose message can be shown as it is.
type oidcRefusal struct {
	status int
	msg    string
	reason string // for the log and the audit
}

func (e *oidcRefusal) Error() string { return e.reason }

// oidcVerify exchanges code for tokens and verifies the ID token: signature (the issuer's keys),
// issuer, audience, expiry, nonce and, when it has one, the access token's hash. Claims missing from
// the ID token (email, email_verified, name) are read from userinfo, whose subject must be the ID
// token's.
func (a *App) oidcVerify(ctx context.Context, s oidcSettings, flow oidcFlow, code string) (sesame.Identity, oidcClaims, error) {
	var claims oidcClaims
	provider, err := a.oidc.provider(ctx, s)
	if err != nil {
		return sesame.Identity{}, claims, err
	}
	pctx, cancel := context.WithTimeout(a.oidc.context(ctx), oidcTimeout)
	defer cancel()
	tok, err := a.oauth2Config(s, provider).Exchange(pctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			msg := fmt.Sprintf("%s refused the sign-in: %s", s.Name, re.ErrorCode)
			if re.ErrorDescription != "" {
				msg += " (" + re.ErrorDescription + ")"
			}
			return sesame.Identity{}, claims, &oidcRefusal{http.StatusBadGateway, msg + ". Start again.", "token exchange: " + err.Error()}
		}
		return sesame.Identity{}, claims, fmt.Errorf("token exchange: %w", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return sesame.Identity{}, claims, &oidcRefusal{http.StatusBadGateway,
			fmt.Sprintf("%s answered without an ID token, so Sesame cannot tell who you are. Ask an admin to check OIDC_SCOPES includes openid.", s.Name),
			"no id_token in the token response"}
	}
	idt, err := provider.p.Verifier(&oidc.Config{ClientID: s.ClientID}).Verify(pctx, rawID)
	if err != nil {
		msg := fmt.Sprintf("The identity %s sent could not be verified, so Sesame did not sign you in. Start again.", s.Name)
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			msg = fmt.Sprintf("The identity %s sent had expired, so Sesame did not sign you in. Start again; if it keeps happening, the clocks of the two servers may differ.", s.Name)
		}
		return sesame.Identity{}, claims, &oidcRefusal{http.StatusUnauthorized, msg, "ID token: " + err.Error()}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return sesame.Identity{}, claims, &oidcRefusal{http.StatusUnauthorized,
			fmt.Sprintf("The identity %s sent was not issued for this sign-in, so Sesame did not sign you in. Start again.", s.Name),
			"ID token: nonce does not match"}
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return sesame.Identity{}, claims, &oidcRefusal{http.StatusUnauthorized,
				fmt.Sprintf("The identity %s sent could not be verified, so Sesame did not sign you in. Start again.", s.Name),
				"ID token: " + err.Error()}
		}
	}
	if err := idt.Claims(&claims); err != nil {
		return sesame.Identity{}, claims, fmt.Errorf("ID token claims: %w", err)
	}
	if (claims.Email == "" || claims.EmailVerified == nil || claims.Name == "") && provider.p.UserInfoEndpoint() != "" {
		info, err := provider.p.UserInfo(pctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return sesame.Identity{}, claims, fmt.Errorf("userinfo: %w", err)
		}
		var more oidcClaims
		if err := info.Claims(&more); err != nil {
			return sesame.Identity{}, claims, fmt.Errorf("userinfo claims: %w", err)
		}
		if more.Subject != idt.Subject { // OIDC Core 5.3.2: a userinfo answer about someone else is ignored
			return sesame.Identity{}, claims, &oidcRefusal{http.StatusUnauthorized,
				fmt.Sprintf("%s described someone else than the person who signed in, so Sesame did not sign you in.", s.Name),
				"userinfo: subject differs from the ID token's"}
		}
		if claims.Email == "" {
			claims.Email, claims.EmailVerified = more.Email, more.EmailVerified
		} else if claims.EmailVerified == nil && strings.EqualFold(more.Email, claims.Email) {
			claims.EmailVerified = more.EmailVerified
		}
		claims.Name, claims.Username = orElse(claims.Name, more.Name), orElse(claims.Username, more.Username)
	}
	claims.Subject, claims.Email = idt.Subject, strings.TrimSpace(claims.Email)
	return sesame.Identity{Provider: s.ID, Issuer: idt.Issuer, Subject: idt.Subject, Email: claims.Email,
		EmailVerified: claims.EmailVerified != nil && bool(*claims.EmailVerified)}, claims, nil
}

// oidcUser finds, links or creates the user of identity id. It returns the user to sign in, or nil
// with the status and message of the refusal; err only for a failure of the server.
func (a *App) oidcUser(r *http.Request, s oidcSettings, id sesame.Identity, c oidcClaims) (*sesame.User, int, string, error) {
	ctx := r.Context()
	verified := id.EmailVerified
	for attempt := 0; ; attempt++ {
		u, err := a.Users.UserByIdentity(ctx, id)
		if err == nil {
			if u.Banned {
				a.oidcFailed(r, u, s, "banned")
				return nil, http.StatusForbidden, "This account is suspended. Ask an admin of this Sesame server.", nil
			}
			return u, 0, "", nil
		} else if sesame.ErrorCode(err) != sesame.ENOTFOUND {
			return nil, 0, "", err
		}
		if c.Email == "" {
			a.oidcFailed(r, nil, s, "no email")
			return nil, http.StatusForbidden, fmt.Sprintf("%s did not tell Sesame your email address, so no account could be found or made for you. Ask an admin to check that OIDC_SCOPES includes email.", s.Name), nil
		}
		existing, err := a.Users.UserByEmail(ctx, c.Email)
		if err != nil && sesame.ErrorCode(err) != sesame.ENOTFOUND {
			return nil, 0, "", err
		}
		if existing != nil {
			if !verified {
				a.oidcFailed(r, existing, s, "email not verified by the provider; not linked")
				return nil, http.StatusForbidden, fmt.Sprintf("An account with the address %s exists, but %s has not confirmed that this address is yours, so Sesame did not link them. Sign in with your password, or confirm the address at %s first.", c.Email, s.Name, s.Name), nil
			}
			if existing.Banned {
				a.oidcFailed(r, existing, s, "banned")
				return nil, http.StatusForbidden, "This account is suspended. Ask an admin of this Sesame server.", nil
			}
			err := a.Users.LinkIdentity(ctx, existing.ID, id)
			if sesame.ErrorCode(err) == sesame.ENOTFOUND && attempt == 0 { // deleted meanwhile
				continue
			} else if err != nil {
				return nil, 0, "", err
			}
			a.audit(r, existing, sesame.AuditIdentityLinked, sesame.ResourceUser, existing.ID,
				map[string]any{"provider": id.Provider, "issuer": id.Issuer, "subject": id.Subject, "email": c.Email})
			return existing, 0, "", nil
		}
		if !s.AllowSignUp {
			a.oidcFailed(r, nil, s, "no account and OIDC sign-up is off")
			return nil, http.StatusForbidden, fmt.Sprintf("There is no account for %s on this Sesame server, and new accounts cannot be made through %s. Ask an admin of this server to create one.", c.Email, s.Name), nil
		}
		if !verified {
			a.oidcFailed(r, nil, s, "email not verified by the provider; no account made")
			return nil, http.StatusForbidden, fmt.Sprintf("%s has not confirmed that %s is your address, so Sesame did not make an account with it. Confirm it at %s, then sign in again.", s.Name, c.Email, s.Name), nil
		}
		created, err := a.Users.CreateUserWithIdentity(ctx, sesame.User{Name: oidcName(c), Email: c.Email, Role: sesame.RoleUser,
			EmailVerifiedAt: time.Now()}, id) // only a verified address makes an account
		if sesame.ErrorCode(err) == sesame.ECONFLICT && attempt == 0 {
			continue // the same person's other sign-in, or a sign-up with this address, came first
		} else if err != nil {
			return nil, 0, "", err
		}
		a.Logger.Info("user signed up through OIDC", "user_id", created.ID, "provider", id.Provider)
		a.audit(r, created, sesame.AuditRegistered, sesame.ResourceUser, created.ID,
			map[string]any{"email": created.Email, "role": string(created.Role), "method": "oidc", "provider": id.Provider})
		return created, 0, "", nil
	}
}

// oidcName is a new user's name: the provider's name, else their username, else the part of
// their address before the @.
func oidcName(c oidcClaims) string {
	name := strings.TrimSpace(orElse(c.Name, c.Username))
	if name == "" {
		name, _, _ = strings.Cut(c.Email, "@")
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// oidcFailed audits a refused OIDC sign-in; u is the account it was about, when known.
func (a *App) oidcFailed(r *http.Request, u *sesame.User, s oidcSettings, reason string) {
	payload := map[string]any{"method": "oidc", "provider": s.ID, "reason": reason}
	if u != nil {
		payload["email"] = u.Email
	}
	a.audit(r, nil, sesame.AuditSignInFailed, sesame.ResourceUser, userID(u), payload)
}

// oidcRefused shows the sign-in page with msg, so that the user can try again.
func (a *App) oidcRefused(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	a.renderLogin(w, r, status, loginView{Next: next, Error: msg})
}
