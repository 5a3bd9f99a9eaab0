package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	sesame "github.com/sesame-works/sesame"
)

const (
	sessionCookie  = "sesame_session"
	sessionUserKey = "user_id"
	sessionFlash   = "flash"
	sessionTTL     = 30 * 24 * time.Hour
	sessionIdle    = 7 * 24 * time.Hour
)

// newSessionManager keeps sessions in store, with HttpOnly, SameSite=Lax cookies, Secure when Sesame
// is served over https.
func newSessionManager(store scs.Store, secret []byte, secure bool) *scs.SessionManager {
	m := scs.New()
	m.Store = keyedStore{store: store, key: secret}
	m.Lifetime = sessionTTL
	m.IdleTimeout = sessionIdle
	m.Cookie.Name = sessionCookie
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = secure
	m.Cookie.Path = "/"
	return m
}

// sweepBatch is how many ended sessions SweepSessions forgets per statement.
const sweepBatch = 500

// SweepSessions audits every tracked session that ended since the last sweep (expired, signed out,
// ended by a ban, or gone from the session store in any other way) as sesame.AuditSessionExpired, by
// the system, and forgets it. It returns how many it found. Call it every few minutes on any node:
// sweeps running at once on several nodes share the work and never audit a session twice.
func (a *App) SweepSessions(ctx context.Context) (int, error) {
	n := 0
	for {
		ended, err := a.Users.EndExpiredSessions(ctx, sweepBatch)
		for _, s := range ended {
			if a.Audit != nil {
				a.Audit.Record(ctx, sesame.AuditEvent{ActorID: sesame.ActorSystem, Action: sesame.AuditSessionExpired,
					ResourceType: sesame.ResourceSession, ResourceID: s.ID, Payload: map[string]any{"user_id": s.UserID}})
			}
		}
		n += len(ended)
		if err != nil || len(ended) < sweepBatch {
			return n, err
		}
	}
}

// storeKey is the key under which the session with token is kept in the session store.
func (a *App) storeKey(token string) string {
	if k, ok := a.sessions.Store.(keyedStore); ok {
		return k.mac(token)
	}
	return token
}

// keyedStore stores each session under an HMAC-SHA256 of its token, keyed with BETTER_AUTH_SECRET.
// The cookie holds the token; the database holds only its MAC, so someone who can read the sessions
// table cannot sign in with what they read, and sessions die when the secret changes.
type keyedStore struct {
	store scs.Store
	key   []byte
}

func (s keyedStore) mac(token string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func (s keyedStore) Find(token string) ([]byte, bool, error) { return s.store.Find(s.mac(token)) }

func (s keyedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.store.Commit(s.mac(token), b, expiry)
}

func (s keyedStore) Delete(token string) error { return s.store.Delete(s.mac(token)) }

// FindCtx, CommitCtx and DeleteCtx pass the request's context through when the store takes one.
func (s keyedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if c, ok := s.store.(scs.CtxStore); ok {
		return c.FindCtx(ctx, s.mac(token))
	}
	return s.Find(token)
}

func (s keyedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if c, ok := s.store.(scs.CtxStore); ok {
		return c.CommitCtx(ctx, s.mac(token), b, expiry)
	}
	return s.Commit(token, b, expiry)
}

func (s keyedStore) DeleteCtx(ctx context.Context, token string) error {
	if c, ok := s.store.(scs.CtxStore); ok {
		return c.DeleteCtx(ctx, s.mac(token))
	}
	return s.Delete(token)
}
