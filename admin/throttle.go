package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// Limiter counts attempts in fixed windows shared by every web node (package ratelimit keeps them
// in Redis).
type Limiter interface {
	// Take counts one attempt under every key of limits (key → the most attempts a window allows) in
	// one atomic step, so that concurrent callers on any node never share a count. It returns 0 when
	// every count, this attempt included, is within its limit, else how long until the latest
	// exceeded window ends. A key's window starts at its first attempt.
	Take(ctx context.Context, window time.Duration, limits map[string]int) (time.Duration, error)
	// GiveBack takes back one attempt counted under each key, never going below zero.
	GiveBack(ctx context.Context, keys ...string) error
	// Reset forgets the counts under keys.
	Reset(ctx context.Context, keys ...string) error
}

// Sign-in attempts are limited per (email, client address) together, so that a storm of wrong
// passwords for alice from one address slows that address down without keeping alice out from
// another; and per address, whatever the email, so that one address cannot try many accounts.
// Every attempt is counted before its password is checked: of many concurrent guesses exactly
// signInPerAccount are checked. A success forgets its (email, address) count and gives its attempt
// back to the address, so people signing in behind one address do not use up its allowance.
const (
	signInWindow     = 15 * time.Minute
	signInPerAccount = 5  // attempts per email from one address, per window
	signInPerAddress = 30 // attempts per address, whatever the email, per window
)

// Sign-ups are limited per address: each one costs a password hash and makes an account.
const (
	signUpWindow     = time.Hour
	signUpPerAddress = 10
)

// takeSignUp counts a sign-up attempt from addr and returns how long until another is accepted (0:
// accept this one). Without Redis sign-up fails closed.
func (a *App) takeSignUp(ctx context.Context, addr string) (time.Duration, error) {
	wait, err := a.Limiter.Take(ctx, signUpWindow, map[string]int{"signup:" + addr: signUpPerAddress})
	if err != nil {
		return 0, fmt.Errorf("count sign-up attempt: %w: %w", err,
			sesame.Errorf(sesame.EUNAVAILABLE, "Signing up is unavailable for a moment (Sesame cannot reach Redis). Try again shortly."))
	}
	return wait, nil
}

// waitWords says a wait in whole minutes.
func waitWords(wait time.Duration) string {
	mins := int((wait + time.Minute - 1) / time.Minute)
	if mins <= 1 {
		return "1 minute"
	}
	return strconv.Itoa(mins) + " minutes"
}

// signInKeys names an attempt's counts. The email is normalised as the user store does (case,
// space), and hashed so that a key's size does not depend on what was typed.
func signInKeys(email, addr string) (account, address string) {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email)) + "\x00" + addr))
	return "account:" + hex.EncodeToString(sum[:16]), "addr:" + addr
}

// takeSignIn counts a sign-in attempt and returns how long the client must wait before one is
// checked again (0: check this one). Without Redis no attempt is checked: sign-in fails closed.
func (a *App) takeSignIn(ctx context.Context, email, addr string) (time.Duration, error) {
	account, address := signInKeys(email, addr)
	wait, err := a.Limiter.Take(ctx, signInWindow, map[string]int{account: signInPerAccount, address: signInPerAddress})
	if err != nil {
		return 0, fmt.Errorf("count sign-in attempt: %w: %w", err,
			sesame.Errorf(sesame.EUNAVAILABLE, "Signing in is unavailable for a moment (Sesame cannot reach Redis). Try again shortly."))
	}
	return wait, nil
}

// signedIn forgets the (email, address) count and gives the attempt back to the address. A failure
// here only leaves the counts a little high, so it is logged, not shown.
func (a *App) signedIn(ctx context.Context, email, addr string) {
	account, address := signInKeys(email, addr)
	if err := a.Limiter.Reset(ctx, account); err != nil {
		a.Logger.Warn("forget sign-in attempts", "err", err)
	}
	if err := a.Limiter.GiveBack(ctx, address); err != nil {
		a.Logger.Warn("give back sign-in attempt", "err", err)
	}
}

// throttled answers a sign-in that came too soon: 429, Retry-After, and the form saying how long.
func (a *App) throttled(w http.ResponseWriter, r *http.Request, v loginView, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	mins := (secs + 59) / 60
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	v.Error = fmt.Sprintf("Too many sign-in attempts from your address. Wait %d %s, then try again.", mins, unit)
	a.renderLogin(w, r, http.StatusTooManyRequests, v)
}
