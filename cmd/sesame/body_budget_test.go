package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// junkBody is n bytes of junk made as they are read, so forty of them cost this process nothing.
type junkBody struct{ left int64 }

var junkBlock = []byte(strings.Repeat("x", 64<<10))

func (j *junkBody) Read(p []byte) (int, error) {
	if j.left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), j.left)], junkBlock)
	j.left -= int64(n)
	return n, nil
}

// vmKiB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status, failing the test when it cannot.
func vmKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	n, err := procStatusKiB(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Forty senders post 24 MB bodies with forged signatures, over and over, while real deliveries
// arrive: the server's memory stays within its budget, the junk is refused, and every real
// delivery is accepted.
func TestEndToEndJunkBodiesStayWithinBudget(t *testing.T) {
	const senders, size = 40, 24 << 20
	gh := githubtest.NewServer(t)
	gh.AddInstallation(1, repo)
	p := startSesame(t, baseEnv(t, gh), "--role", "web")
	pid := p.cmd.Process.Pid
	// A first delivery warms the paths a delivery takes (database, Redis, JSON).
	if code, resp := deliver(t, p, "warm", commentPayload(t, "alice", "/sesame warm up")); code != http.StatusAccepted {
		t.Fatalf("first delivery answered %d %v", code, resp)
	}
	before := vmKiB(t, pid, "VmHWM")

	url := "http://" + p.addr + "/webhooks/github"
	junk := &http.Client{Transport: &http.Transport{MaxConnsPerHost: senders, MaxIdleConnsPerHost: senders}}
	forgedSig := make([]byte, 32)
	rand.Read(forgedSig)
	var stop atomic.Bool
	var mu sync.Mutex
	answers := map[string]int{} // status code, or "error" when the server closed the connection first
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				req, _ := http.NewRequest(http.MethodPost, url, &junkBody{left: size})
				req.ContentLength = size
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "issue_comment")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("junk-%d-%d", i, n))
				req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(forgedSig))
				answer := "error"
				if resp, err := junk.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					answer = strconv.Itoa(resp.StatusCode)
				}
				mu.Lock()
				answers[answer]++
				mu.Unlock()
			}
		})
	}

	// Real deliveries, small and signed, during the storm.
	time.Sleep(500 * time.Millisecond)
	for i := range 5 {
		start := time.Now()
		code, resp := deliver(t, p, fmt.Sprintf("real-%d", i), newComment(t, gh, "alice", "/sesame fix the typo"))
		if code != http.StatusAccepted {
			t.Errorf("real delivery %d during the storm answered %d %v, want 202", i, code, resp)
		} else {
			t.Logf("real delivery %d during the storm: 202 in %s", i, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()

	after := vmKiB(t, pid, "VmHWM")
	grew := (after - before) / 1024
	t.Logf("peak RSS (VmHWM) %d MB before the storm, %d MB after: grew %d MB; junk answers %v", before/1024, after/1024, grew, answers)
	if grew >= 200 {
		t.Errorf("peak RSS grew by %d MB under %d senders of %d MB junk, want less than 200 MB", grew, senders, size>>20)
	}
	if answers["503"] == 0 {
		t.Errorf("no junk body was refused for the budget (503): answers %v", answers)
	}
	for a, n := range answers {
		if a != "503" && a != "401" && a != "error" {
			t.Errorf("%d junk bodies answered %s, want only 401 (read, then refused) or 503 (refused unread)", n, a)
		}
	}
}
