package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

// A task's own sandbox security choice wins over the server's, and a task kept alive keeps its folder.
func TestRunTaskOptions(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name     string
		server   bool  // Settings.SandboxSecurity
		task     *bool // the task's choice
		keep     bool
		enforced bool
	}{
		{name: "server default on", server: true, enforced: true},
		{name: "task turns it off, kept alive", server: true, task: &off, keep: true, enforced: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAgentHarness(t, typoFix()...)
			spy := &specSpy{Provider: h.runner.Sandbox}
			h.runner.Sandbox = spy
			h.runner.Settings.SandboxSecurity = tc.server
			task := h.create(t, sesame.Request{Source: sesame.SourceWeb, Kind: sesame.KindRun, Repo: repo, InstallationID: 9,
				Requester: "Ann", Instruction: "fix the typo", SandboxSecurity: tc.task, KeepAlive: tc.keep})
			if err := h.runner.Run(context.Background(), task.ID); err != nil {
				t.Fatal(err)
			}
			if got := h.reload(t, task.ID).Status; got != sesame.StatusCompleted {
				t.Fatalf("task %s, want completed", got)
			}
			specs := spy.all()
			if len(specs) != 1 || specs[0].Policy.Enabled != tc.enforced || len(specs[0].Policy.AllowedDomains) == 0 {
				t.Errorf("sandbox specs %+v, want one with Policy.Enabled %v and the agent's domains", specs, tc.enforced)
			}
			_, err := os.Stat(filepath.Join(h.taskBase, task.ID, "repo", "README.md"))
			if kept := err == nil; kept != tc.keep {
				t.Errorf("task folder kept: %v, want %v", kept, tc.keep)
			}
		})
	}
}

// specSpy remembers the specs of the sandboxes it creates.
type specSpy struct {
	sandbox.Provider
	mu    sync.Mutex
	specs []sandbox.Spec
}

func (s *specSpy) Create(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	s.mu.Lock()
	s.specs = append(s.specs, spec)
	s.mu.Unlock()
	return s.Provider.Create(ctx, spec)
}

func (s *specSpy) all() []sandbox.Spec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sandbox.Spec(nil), s.specs...)
}
