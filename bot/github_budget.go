package bot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// An installation's REST calls go through an apiBudget, which spends as little of its rate limit as
// it can and waits for the limit rather than failing:
//
//   - A GET whose answer carried an ETag is sent again with If-None-Match; GitHub answers 304 when
//     nothing changed, which does not count against the rate limit, and the kept answer is returned.
//   - When GitHub says the limit is spent (403 or 429 with x-ratelimit-remaining 0, or a secondary
//     limit's retry-after), the call waits for the reset, says so through sesame.Notice, and is sent
//     again. Calls made meanwhile wait for the same reset before they are sent. A wait longer than
//     maxRateWait, or past the context's deadline, fails at once with the time of the reset.
//
// go-github refuses by itself to send a call while the last answer it saw said 0 remaining, without
// waiting: so a successful answer that spent the last call is shown to it with 1 remaining, and the
// wait is this transport's.
type apiBudget struct {
	next http.RoundTripper
	now  func() time.Time
	// sleep waits d or until ctx ends (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	spent   time.Time // the limit is spent until then
	answers map[string]*keptAnswer
	order   []string // the keys of answers, oldest first, for eviction
}

// Bounds of an apiBudget.
const (
	maxRateWait    = 15 * time.Minute
	maxKept        = 512     // answers kept for conditional GETs, per installation
	maxKeptBody    = 1 << 20 // bytes: a larger answer is not kept
	maxRateRetries = 3
)

// keptAnswer is a GET's last answer, kept for a conditional request.
type keptAnswer struct {
	etag   string
	header http.Header
	body   []byte
}

func newAPIBudget(next http.RoundTripper) *apiBudget {
	return &apiBudget{next: next, now: time.Now, sleep: sleepCtx, answers: map[string]*keptAnswer{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *apiBudget) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	key := ""
	if req.Method == http.MethodGet && req.Header.Get("Range") == "" {
		key = req.URL.String() + "\x00" + req.Header.Get("Accept")
	}
	for attempt := 0; ; attempt++ {
		if err := b.waitForReset(ctx, req); err != nil {
			return nil, err
		}
		out := req
		if attempt > 0 {
			if out = rewound(req); out == nil {
				return nil, fmt.Errorf("%s %s: GitHub's rate limit was spent and the request cannot be sent again", req.Method, req.URL.Path)
			}
		}
		kept := b.kept(key)
		if kept != nil {
			out = out.Clone(ctx)
			out.Header.Set("If-None-Match", kept.etag)
		}
		resp, err := b.next.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		if wait, limited := b.limited(resp); limited && attempt < maxRateRetries {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			b.spendUntil(b.now().Add(wait))
			continue
		}
		if resp.StatusCode == http.StatusNotModified && kept != nil {
			b.hideSpentLimit(resp)
			return kept.answer(req, resp), nil
		}
		if key != "" && resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "" {
			return b.keep(key, resp)
		}
		b.hideSpentLimit(resp)
		return resp, nil
	}
}

// limited reports whether resp says the rate limit is spent, and how long until it resets.
func (b *apiBudget) limited(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" { // a secondary limit
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return 0, false
	}
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Minute, true // GitHub's advice when it says nothing more
	}
	return max(time.Unix(reset, 0).Sub(b.now()), 0) + time.Second, true
}

func (b *apiBudget) spendUntil(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.spent) {
		b.spent = t
	}
}

// waitForReset waits until the rate limit's reset when it is spent, telling the context why.
func (b *apiBudget) waitForReset(ctx context.Context, req *http.Request) error {
	b.mu.Lock()
	until := b.spent
	b.mu.Unlock()
	wait := until.Sub(b.now())
	if wait <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); wait > maxRateWait || ok && deadline.Before(until) {
		return sesame.Errorf(sesame.EUNAVAILABLE, "GitHub's rate limit for this installation is spent until %s.", until.UTC().Format("15:04:05 UTC"))
	}
	sesame.Notice(ctx, fmt.Sprintf("GitHub's rate limit for this installation is spent: Sesame waits until %s (%s) before calling GitHub again.",
		until.UTC().Format("15:04:05 UTC"), wait.Round(time.Second)))
	return b.sleep(ctx, wait)
}

// rewound is req with its body read again from the start, for sending again; nil when it cannot be.
func rewound(req *http.Request) *http.Request {
	out := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return out
	}
	if req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil
	}
	out.Body = body
	return out
}

// hideSpentLimit shows a successful answer that spent the last call of the limit with 1 remaining,
// so that go-github sends the next call to this transport, which waits for the reset (see above).
func (b *apiBudget) hideSpentLimit(resp *http.Response) {
	if resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return
	}
	if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		b.spendUntil(time.Unix(reset, 0).Add(time.Second))
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		resp.Header.Set("X-RateLimit-Remaining", "1")
	}
}

func (b *apiBudget) kept(key string) *keptAnswer {
	if key == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.answers[key]
}

// keep reads resp's body, keeps it under key with its ETag, and returns resp with the body to read.
func (b *apiBudget) keep(key string, resp *http.Response) (*http.Response, error) {
	b.hideSpentLimit(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeptBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > maxKeptBody {
		return resp, nil // too large to keep: returned whole all the same
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.answers[key]; !ok {
		b.order = append(b.order, key)
	}
	b.answers[key] = &keptAnswer{etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: body}
	for len(b.order) > maxKept {
		delete(b.answers, b.order[0])
		b.order = b.order[1:]
	}
	return resp, nil
}

// answer is the kept answer for req, revalidated by the 304 fresh: its rate-limit headers are the
// 304's.
func (k *keptAnswer) answer(req *http.Request, fresh *http.Response) *http.Response {
	io.Copy(io.Discard, io.LimitReader(fresh.Body, 1<<20))
	fresh.Body.Close()
	h := k.header.Clone()
	for name, v := range fresh.Header {
		h[name] = v
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: fresh.Proto, ProtoMajor: fresh.ProtoMajor, ProtoMinor: fresh.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(k.body)), ContentLength: int64(len(k.body)), Request: req,
	}
}
