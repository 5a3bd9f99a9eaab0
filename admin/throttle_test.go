package admin

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	th := newThrottle()
	th.now = func() time.Time { return clock }
	for range maxFailsPerEmail - 1 {
		th.failed("Ada@example.com", "10.0.0.1")
	}
	if b, _ := th.blocked("ada@example.com", "10.0.0.2"); b {
		t.Fatal("blocked before the limit")
	}
	th.failed("ada@example.com ", "10.0.0.1")
	if b, wait := th.blocked("ADA@example.com", "10.0.0.2"); !b || wait != throttleWindow {
		t.Fatalf("blocked = %v, wait %s after %d failures", b, wait, maxFailsPerEmail)
	}
	if b, _ := th.blocked("bob@example.com", "10.0.0.2"); b {
		t.Error("another email from another address is blocked")
	}
	clock = clock.Add(throttleWindow)
	if b, _ := th.blocked("ada@example.com", "10.0.0.1"); b {
		t.Error("still blocked after the window")
	}
	for i := range maxFailsPerAddr {
		th.failed(string(rune('a'+i%26))+"@x.example", "10.0.0.9")
	}
	if b, _ := th.blocked("new@example.com", "10.0.0.9"); !b {
		t.Error("an address that failed for many emails is not blocked")
	}
	th.failed("carol@example.com", "10.0.0.3")
	th.succeeded("carol@example.com")
	if f := th.fails[emailKey("carol@example.com")]; f != nil {
		t.Error("a success did not forget the email's failures")
	}
}
