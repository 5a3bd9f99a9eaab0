package admin

import (
	"strings"
	"sync"
	"time"
)

// Failed sign-ins are limited per email and per client address: after maxFailsPerEmail (or
// maxFailsPerAddr) failures within throttleWindow, further attempts are refused until the window ends,
// right password or not. The counts live in this process: each web node keeps its own.
const (
	throttleWindow   = 15 * time.Minute
	maxFailsPerEmail = 5
	maxFailsPerAddr  = 30
)

type throttle struct {
	mu    sync.Mutex
	fails map[string]*failures
	now   func() time.Time
}

type failures struct {
	n     int
	since time.Time
}

func newThrottle() *throttle { return &throttle{fails: map[string]*failures{}, now: time.Now} }

func emailKey(email string) string { return "email:" + strings.ToLower(strings.TrimSpace(email)) }
func addrKey(addr string) string   { return "addr:" + addr }

// blocked reports whether the email or address has failed too often, and for how much longer.
func (t *throttle) blocked(email, addr string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for key, limit := range map[string]int{emailKey(email): maxFailsPerEmail, addrKey(addr): maxFailsPerAddr} {
		f := t.fails[key]
		if f == nil {
			continue
		}
		if now.Sub(f.since) >= throttleWindow {
			delete(t.fails, key)
			continue
		}
		if f.n >= limit {
			return true, throttleWindow - now.Sub(f.since)
		}
	}
	return false, 0
}

// failed counts one failed sign-in.
func (t *throttle) failed(email, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, key := range []string{emailKey(email), addrKey(addr)} {
		f := t.fails[key]
		if f == nil || now.Sub(f.since) >= throttleWindow {
			f = &failures{since: now}
			t.fails[key] = f
		}
		f.n++
	}
	if len(t.fails) > 100_000 { // bound the memory an attacker can make us spend
		for k, f := range t.fails {
			if now.Sub(f.since) >= throttleWindow {
				delete(t.fails, k)
			}
		}
	}
}

// succeeded forgets the email's failures.
func (t *throttle) succeeded(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, emailKey(email))
}
