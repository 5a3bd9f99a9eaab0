package runner_test

import (
	"context"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/runner"
)

// recordedMetrics remembers what the runner told it.
type recordedMetrics struct {
	mu      sync.Mutex
	stages  []sesame.TaskStatus
	ended   []sesame.TaskStatus
	started int
	spent   map[string]agent.Usage
}

var _ runner.Metrics = (*recordedMetrics)(nil)

func (m *recordedMetrics) TaskStage(stage sesame.TaskStatus, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stages = append(m.stages, stage)
}

func (m *recordedMetrics) TaskEnded(status sesame.TaskStatus, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = append(m.ended, status)
}

func (m *recordedMetrics) SandboxStarted(time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started++
}

func (m *recordedMetrics) AgentSpent(name string, u agent.Usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spent == nil {
		m.spent = map[string]agent.Usage{}
	}
	m.spent[name] = u
}

func (m *recordedMetrics) Violation(sesame.ViolationKind) {}

// A task stopped from the web app (another node: the store says stopped before this runner does) is
// counted once, as stopped, by the worker that ran it, with the stages it went through.
func TestMetricsOfAStoppedTask(t *testing.T) {
	h := newAgentHarness(t, modeltest.Step{Hang: true})
	rec := &recordedMetrics{}
	h.runner.Metrics = rec
	h.gh.SetPermission(repo, "alice", "write")
	h.watchStops(t, time.Hour)
	task := h.task(t, "alice", sesame.KindRun, "fix the typo in README")
	done := h.run(t, context.Background(), task.ID)
	h.waitHang(t)
	if _, err := h.recorder.RequestStop(context.Background(), task.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("task still running 20s after the stop request")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ended) != 1 || rec.ended[0] != sesame.StatusStopped {
		t.Errorf("ended %v, want [stopped]", rec.ended)
	}
	if len(rec.stages) != 2 || rec.stages[0] != sesame.StatusPreparing || rec.stages[1] != sesame.StatusRunning {
		t.Errorf("stages %v, want [preparing running]", rec.stages)
	}
	if rec.started != 1 {
		t.Errorf("%d sandboxes started, want 1", rec.started)
	}
	if _, ok := rec.spent["claude"]; !ok {
		t.Errorf("the agent's spending was not told: %v", rec.spent)
	}
}
