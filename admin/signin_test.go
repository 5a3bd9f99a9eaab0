package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/ratelimit"
)

// TestSignInRedirectStaysLocal signs in through the real handler with the "next" values that used to
// lead off-site, and checks where the browser is sent, read as a browser reads Location.
func TestSignInRedirectStaysLocal(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	site, _ := url.Parse(e.srv.URL)
	tests := []struct {
		query string // the raw query of /login
		want  string
	}{
		{"next=/%09/evil.com", "/tasks"},
		{"next=/tasks/../%5Cevil.com", "/tasks"},
		{"next=//evil.com", "/tasks"},
		{"next=/%5Cevil.com", "/tasks"},
		{"next=/%252F%252Fevil.com", "/tasks"},
		{"next=https://evil.com", "/tasks"},
		{"next=javascript:alert(1)", "/tasks"},
		{"next=%2Ftasks%2Fabc%3Fx%3D1", "/tasks/abc?x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			c := e.client(t)
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			page := c.mustStatus(c.get("/login?"+tt.query), http.StatusOK, "sign-in page")
			if !strings.Contains(page.body, `name="next"`) {
				t.Fatal("the sign-in page does not carry next")
			}
			// The form posts next back as the page received it.
			r := c.mustStatus(c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}, "next": {q.Get("next")}}),
				http.StatusSeeOther, "sign in")
			checkLocal(t, site, r.location, tt.want)
			// Already signed in, /login?next=… redirects straight away.
			r = c.mustStatus(c.get("/login?"+tt.query), http.StatusSeeOther, "signed-in /login")
			checkLocal(t, site, r.location, tt.want)
		})
	}
}

func checkLocal(t *testing.T, site *url.URL, location, want string) {
	t.Helper()
	if location != want {
		t.Errorf("Location %q, want %q", location, want)
	}
	// Browsers drop tab, CR and LF and read a backslash as a slash before resolving.
	cleaned := strings.NewReplacer("\t", "", "\r", "", "\n", "", `\`, "/").Replace(location)
	loc, err := url.Parse(cleaned)
	if err != nil {
		t.Fatalf("Location %q: %v", location, err)
	}
	if got := site.ResolveReference(loc); got.Host != site.Host || got.Scheme != site.Scheme {
		t.Errorf("Location %q leads to %s", location, got)
	}
}

// attempt is one sign-in as a browser posts it, from hc; it does not stop the test, so goroutines may
// call it.
type attempt struct {
	status     int
	retryAfter string
	body       string
	err        error
}

func signIn(hc *http.Client, base, email, pw string, headers ...string) attempt {
	form := url.Values{"email": {email}, "password": {pw}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := hc.Do(req)
	if err != nil {
		return attempt{err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return attempt{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(b)}
}

// mustThrottled checks a 429 answer: Retry-After within the window, and the page saying why.
func mustThrottled(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429", what, r.status)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 15*60 {
		t.Errorf("%s: Retry-After %q", what, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "Too many sign-in attempts from your address. Wait 15 minutes, then try again.") {
		t.Errorf("%s: the page does not say why:\n%s", what, snippet(r.body))
	}
}

// TestConcurrentWrongPasswords: 30 wrong passwords for one account at once, from one address. Each is
// counted before its password is checked, so exactly 5 are checked (401) and the rest refused (429);
// the owner still signs in from another address, and the attacker's address stays throttled.
func TestConcurrentWrongPasswords(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	e.addUser(t, "Alice", "alice@example.com", sesame.RoleUser)

	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	results := make([]attempt, 30)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Go(func() {
			<-start
			results[i] = signIn(hc, e.srv.URL, "alice@example.com", fmt.Sprintf("wrong guess %d", i))
		})
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		counts[r.status]++
		switch r.status {
		case http.StatusUnauthorized:
			if !strings.Contains(r.body, "do not match") {
				t.Error("a 401 does not say the password was wrong")
			}
		case http.StatusTooManyRequests:
			if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 || n > 15*60 {
				t.Errorf("429 with Retry-After %q", r.retryAfter)
			}
			if !strings.Contains(r.body, "Too many sign-in attempts") {
				t.Error("a 429 page does not say why")
			}
		}
	}
	if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 25 || len(counts) != 2 {
		t.Fatalf("answers %v, want exactly 5 × 401 and 25 × 429", counts)
	}

	// The attacker's address is still refused, even with the right password …
	same := e.client(t)
	mustThrottled(t, same.post("/login", url.Values{"email": {"alice@example.com"}, "password": {password}}), "right password from the attacker's address")
	// … while Alice, from another address, signs in at once.
	alice := e.clientFrom(t, e.srv, "127.0.0.2")
	r := alice.mustStatus(alice.post("/login", url.Values{"email": {"alice@example.com"}, "password": {password}}), http.StatusSeeOther, "Alice from another address")
	if r.location != "/tasks" {
		t.Errorf("Alice's sign-in → %q", r.location)
	}
	alice.mustStatus(alice.get("/tasks"), http.StatusOK, "Alice's tasks")
}

// TestSignInLimitsPerAccountAndAddress: a success clears its account's count; one address trying many
// accounts is stopped whatever the account.
func TestSignInLimitsPerAccountAndAddress(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	c := e.clientFrom(t, e.srv, "127.0.0.3")
	wrong := func(email string) response {
		return c.post("/login", url.Values{"email": {email}, "password": {"not the password"}})
	}
	for range 4 {
		c.mustStatus(wrong("bob@example.com"), http.StatusUnauthorized, "wrong password")
	}
	c.mustStatus(c.post("/login", url.Values{"email": {"Bob@Example.com "}, "password": {password}}), http.StatusSeeOther, "right password after 4 failures")
	for range 5 { // the success started the count again
		c.mustStatus(wrong("bob@example.com"), http.StatusUnauthorized, "wrong password after a success")
	}
	mustThrottled(t, wrong("BOB@example.com"), "sixth failure since the success")

	// 30 attempts from one address, for any accounts, use up that address's allowance.
	d := e.clientFrom(t, e.srv, "127.0.0.4")
	for i := range 30 {
		d.mustStatus(d.post("/login", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {"guess"}}), http.StatusUnauthorized, "spraying")
	}
	mustThrottled(t, d.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}}), "an untouched account from the spraying address")
	ada := e.client(t)
	ada.mustStatus(ada.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}}), http.StatusSeeOther, "the same account from elsewhere")
}

// TestSignInCountsAreSharedByWebNodes: two web apps on one Redis, as two nodes behind a load
// balancer, count the same attempts.
func TestSignInCountsAreSharedByWebNodes(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	nodes := []*client{e.client(t), e.clientOf(t, e.serve(t, nil))}
	for i := range 5 {
		c := nodes[i%2]
		c.mustStatus(c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password"}}), http.StatusUnauthorized, fmt.Sprintf("failure %d", i+1))
	}
	for i, c := range nodes {
		mustThrottled(t, c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), fmt.Sprintf("node %d after 5 failures on both", i+1))
	}
}

// TestForwardedForIsBelievedOnlyFromTrustedProxies: X-Forwarded-For names the client only when the
// request comes straight from a proxy in TRUSTED_PROXIES; otherwise a spoofed header changes nothing.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	for _, setting := range []string{"", "TRUSTED_PROXIES=10.9.9.9,192.168.0.0/16"} {
		t.Run("untrusted peer "+setting, func(t *testing.T) {
			var env []string
			if setting != "" {
				env = append(env, setting)
			}
			e := newEnv(t, env...)
			e.setUp(t)
			e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
			c := e.client(t)
			for i := range 5 { // each attempt claims another address
				c.mustStatus(c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password"}},
					"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1)), http.StatusUnauthorized, "wrong password")
			}
			mustThrottled(t, c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}, "X-Forwarded-For", "198.51.100.77"),
				"right password claiming yet another address")
			bob := e.clientFrom(t, e.srv, "127.0.0.5")
			bob.mustStatus(bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}), http.StatusSeeOther, "really another address")
		})
	}
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, "TRUSTED_PROXIES=127.0.0.1")
		e.setUp(t)
		e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
		proxy := e.client(t) // every request comes from 127.0.0.1, the proxy
		for range 5 {
			proxy.mustStatus(proxy.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password"}},
				"X-Forwarded-For", "203.0.113.7"), http.StatusUnauthorized, "wrong password from 203.0.113.7")
		}
		mustThrottled(t, proxy.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}, "X-Forwarded-For", "203.0.113.7"),
			"203.0.113.7 after 5 failures")
		// What the client wrote left of the proxy's entry does not make it someone else.
		mustThrottled(t, proxy.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}, "X-Forwarded-For", "198.51.100.2, 203.0.113.7"),
			"203.0.113.7 claiming to be 198.51.100.2")
		r := proxy.mustStatus(proxy.post("/login", url.Values{"email": {"bob@example.com"}, "password": {password}}, "X-Forwarded-For", "198.51.100.2"),
			http.StatusSeeOther, "Bob from 198.51.100.2 through the proxy")
		if r.location != "/tasks" {
			t.Errorf("sign-in → %q", r.location)
		}
	})
}

// TestSignInWithoutRedisFailsClosed: when the counts cannot be kept, no password is checked.
func TestSignInWithoutRedisFailsClosed(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	srv := e.serve(t, func(o *admin.Options) { o.Limiter = &ratelimit.Redis{Client: down} })
	c := e.clientOf(t, srv)
	r := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {password}})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "cannot reach Redis") {
		t.Errorf("sign-in without Redis: %d\n%s", r.status, snippet(r.body))
	}
}

// Sign-ups are limited per address: the eleventh in an hour is refused before its password is
// hashed or an account made, and another address is not held back.
func TestSignupsAreThrottledPerAddress(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	if err := postgres.NewSettingStore(e.db).SaveSetting(context.Background(), config.RegistrationAllowNewUsers, "true", "test"); err != nil {
		t.Fatal(err)
	}
	c := e.clientFrom(t, e.srv, "127.0.0.9")
	for i := range 10 {
		r := c.post("/signup", accountForm("Bot", fmt.Sprintf("bot%d@example.com", i)))
		if r.status != http.StatusSeeOther {
			t.Fatalf("sign-up %d: %d", i+1, r.status)
		}
		c = e.clientFrom(t, e.srv, "127.0.0.9") // signed in now: a fresh browser for the next one
	}
	r := c.post("/signup", accountForm("Bot", "bot10@example.com"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many sign-ups from your address") {
		t.Errorf("eleventh sign-up: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), snippet(r.body))
	}
	if _, err := e.users.UserByEmail(context.Background(), "bot10@example.com"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("the refused sign-up made an account: %v", err)
	}
	other := e.clientFrom(t, e.srv, "127.0.0.10")
	if r := other.post("/signup", accountForm("Carol", "carol@example.com")); r.status != http.StatusSeeOther {
		t.Errorf("sign-up from another address: %d", r.status)
	}
}
