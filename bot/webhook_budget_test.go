package bot_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// forged is a delivery of n bytes with a well-formed signature that is not the secret's, whose body
// comes from body.
func forged(n int64, body io.Reader) *http.Request {
	req := githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "junk", "not-"+secret, nil)
	req.Body, req.ContentLength = io.NopCloser(body), n
	return req
}

func TestWebhookBudgetRefusesJunkAndKeepsRoomForDeliveries(t *testing.T) {
	h := newHarness(t, "")
	hook := &bot.GitHubWebhook{Secret: []byte(secret), AppID: 4242, Tasks: h.submitter, Logger: slog.New(slog.DiscardHandler),
		Bodies: bot.BodyBudget{Large: 2 << 20, Small: 256 << 10}}
	engine := gin.New()
	engine.POST("/webhooks/github", hook.Handle)
	serve := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)
		return rec
	}

	// A forged 2 MB body arrives slowly and holds the whole shared part while it does.
	slowR, slowW := io.Pipe()
	slow := make(chan *httptest.ResponseRecorder, 1)
	go func() { slow <- serve(forged(2<<20, slowR)) }()
	if _, err := slowW.Write([]byte("{")); err != nil { // returns once the handler reads: its bytes are reserved
		t.Fatal(err)
	}

	// Another large body is refused at once, unread.
	unread := &countingBody{r: strings.NewReader(strings.Repeat(" ", 1<<20))}
	rec := serve(forged(1<<20, unread))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || decode(t, rec).Error == "" {
		t.Fatalf("a body over the budget answered %d (Retry-After %q) %s, want 503 with Retry-After and a reason",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if unread.read != 0 {
		t.Errorf("%d bytes of the refused body were read, want none", unread.read)
	}
	// A body without a signature is refused before it is read, whatever its size.
	unsigned := forged(20<<20, &countingBody{r: strings.NewReader("")})
	unsigned.Header.Del("X-Hub-Signature-256")
	if rec := serve(unsigned); rec.Code != http.StatusUnauthorized {
		t.Fatalf("an unsigned body answered %d %s, want 401", rec.Code, rec.Body)
	}

	// A real delivery, small, still gets through.
	body := payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it"))
	rec = serve(githubtest.NewWebhookRequest("/webhooks/github", "issue_comment", "real-1", secret, body))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("a signed delivery during the junk answered %d %s, want 202", rec.Code, rec.Body)
	}

	// The slow body ends, is refused for its signature, and gives its bytes back.
	if _, err := io.Copy(slowW, bytes.NewReader(make([]byte, 2<<20-1))); err != nil {
		t.Fatal(err)
	}
	slowW.Close()
	if rec := <-slow; rec.Code != http.StatusUnauthorized {
		t.Fatalf("the forged slow body answered %d %s, want 401", rec.Code, rec.Body)
	}
	if rec := serve(forged(1<<20, strings.NewReader(strings.Repeat(" ", 1<<20)))); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a forged body after the budget freed answered %d %s, want 401", rec.Code, rec.Body)
	}
	if n := h.countTasks(t); n != 1 {
		t.Fatalf("%d tasks stored, want the real delivery's alone", n)
	}
}

// countingBody records how much of it was read.
type countingBody struct {
	r    io.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
