package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

// A task's sandbox security choice works only within the admin default: it can turn security on
// when the default is off, never off when the default requires it. A task kept alive keeps its
// folder. Whatever the policy, the sandbox is told it, and the task's events say it.
func TestRunTaskOptions(t *testing.T) {
	off, on := false, true
	for _, tc := range []struct {
		name     string
		server   bool  // Settings.SandboxSecurity
		task     *bool // the task's choice
		keep     bool
		enforced bool
	}{
		{name: "server default on", server: true, enforced: true},
		{name: "task cannot turn it off, kept alive", server: true, task: &off, keep: true, enforced: true},
		{name: "server default off", server: false, enforced: false},
		{name: "task turns it on", server: false, task: &on, enforced: true},
		{name: "task leaves it off", server: false, task: &off, enforced: false},
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
			events, err := h.store.Events(context.Background(), task.ID)
			if err != nil {
				t.Fatal(err)
			}
			var sandboxEvents []sesame.TaskEvent
			for _, e := range events {
				if e.Type == sesame.EventSandbox {
					sandboxEvents = append(sandboxEvents, e)
				}
			}
			if len(sandboxEvents) != 1 || sandboxEvents[0].Data["security"] != tc.enforced {
				t.Errorf("sandbox events %+v, want one saying security %v", sandboxEvents, tc.enforced)
			}
			prs := h.gh.PullRequests(repo)
			if len(prs) != 1 {
				t.Fatalf("pull requests %+v, want one", prs)
			}
			if said := strings.Contains(prs[0].Body, "OS-level restrictions were off"); said == tc.enforced {
				t.Errorf("pull request body says restrictions were off: %v, with security %v:\n%s", said, tc.enforced, prs[0].Body)
			}
			_, err = os.Stat(filepath.Join(h.taskBase, task.ID, "repo", "README.md"))
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
