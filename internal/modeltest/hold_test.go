package modeltest_test

import (
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/modeltest"
)

// A held step answers once its channel is closed, not before.
func TestHoldUntilReleased(t *testing.T) {
	release := make(chan struct{})
	srv := modeltest.NewServer(t, modeltest.Step{Text: "held", Hold: release})
	answered := make(chan answer, 1)
	go func() { answered <- post(t, srv.URL, "/v1/messages", agentBody) }()
	select {
	case got := <-answered:
		t.Fatalf("a held step answered %+v before its release", got)
	case <-time.After(300 * time.Millisecond):
	}
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Step != 0 {
		t.Fatalf("requests = %+v, want the held one recorded", reqs)
	}
	close(release)
	select {
	case got := <-answered:
		if got.Text != "held" {
			t.Errorf("released step answered %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a released step did not answer")
	}
}
