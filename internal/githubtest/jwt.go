package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GitHub's answers to a bad app JWT, all with status 401.
const (
	msgJWTDecode   = "A JSON web token could not be decoded"
	msgJWTExpired  = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooFar   = "'Expiration time' claim ('exp') is too far in the future"
	msgJWTIssuedAt = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTIssuer   = "'Issuer' claim ('iss') must be an Integer"
)

// maxJWTLifetime is how far in the future GitHub lets a JWT's exp be.
const maxJWTLifetime = 10 * time.Minute

type rsaKey struct {
	priv *rsa.PrivateKey
	pem  []byte
}

// A 2048-bit key takes a while to generate, so every Server in a test binary
// shares one.
var (
	keyOnce sync.Once
	key     rsaKey
	keyErr  error
)

func appKey(t testing.TB) rsaKey {
	t.Helper()
	keyOnce.Do(func() {
		var priv *rsa.PrivateKey
		priv, keyErr = rsa.GenerateKey(rand.Reader, 2048)
		if keyErr != nil {
			return
		}
		key = rsaKey{
			priv: priv,
			pem:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}),
		}
	})
	if keyErr != nil {
		t.Fatalf("githubtest: generate app key: %v", keyErr)
	}
	return key
}

// requireAppJWT checks that r carries "Authorization: Bearer <JWT>" signed
// by the app, and otherwise answers 401 with GitHub's message.
func (s *Server) requireAppJWT(w http.ResponseWriter, r *http.Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	msg := msgJWTDecode
	if strings.EqualFold(scheme, "bearer") {
		msg = s.checkJWT(cred)
	}
	if msg != "" {
		writeError(w, http.StatusUnauthorized, msg, docsREST)
		return false
	}
	return true
}

// checkJWT returns "" for a JWT GitHub would accept for this app, or the
// message GitHub answers with. The rules are those of GitHub's "Generating a
// JSON Web Token (JWT) for a GitHub App": alg RS256; iat not in the future;
// exp in the future but no more than 10 minutes ahead; iss the app ID
// (number or string) or the client ID.
func (s *Server) checkJWT(raw string) string {
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return s.publicKey, nil }); err != nil {
		return msgJWTDecode
	}
	now := s.now().Unix()
	iat, ok := claims["iat"].(float64)
	if !ok || int64(iat) > now {
		return msgJWTIssuedAt
	}
	exp, ok := claims["exp"].(float64)
	if !ok || int64(exp) <= now {
		return msgJWTExpired
	}
	if int64(exp) > now+int64(maxJWTLifetime/time.Second) {
		return msgJWTTooFar
	}
	switch iss := claims["iss"].(type) {
	case float64:
		if int64(iss) != s.AppID {
			return msgJWTDecode // another app's key would not verify it
		}
	case string:
		if iss == s.ClientID && iss != "" {
			return ""
		}
		id, err := strconv.ParseInt(iss, 10, 64)
		if err != nil {
			return msgJWTIssuer
		}
		if id != s.AppID {
			return msgJWTDecode
		}
	default:
		return msgJWTIssuer
	}
	return ""
}
