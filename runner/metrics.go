package runner

import (
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

// Metrics is told what the runner measures, for an operator's dashboards; cmd/sesame counts it
// (Prometheus). Its methods are called on a task's path: they must return at once and be safe for
// concurrent use. Labels it is given are few (a status, an agent's name, a kind of violation): never a
// repository, a user or a task id.
type Metrics interface {
	// TaskStage: a task run by this process spent d in stage (preparing, running or pushing) before
	// it moved on. A task resumed after its worker died counts from its resumption.
	TaskStage(stage sesame.TaskStatus, d time.Duration)
	// TaskEnded: a task run by this process ended with status (completed, failed or stopped), d after
	// this process claimed it.
	TaskEnded(status sesame.TaskStatus, d time.Duration)
	// SandboxStarted: the sandbox provider created a task's sandbox in d.
	SandboxStarted(d time.Duration)
	// AgentSpent: one run of the agent named agentName used u (tokens and cost in US dollars).
	AgentSpent(agentName string, u agent.Usage)
	// Violation: the sandbox refused a task something (a connection, a file access).
	Violation(kind sesame.ViolationKind)
}

// stageClock is where a task run here is: its status and since when, and when this process claimed it.
type stageClock struct {
	claimed time.Time
	status  sesame.TaskStatus
	since   time.Time
}

// observeStatus tells Metrics that t, run by this process, moved to status: the stage it leaves and,
// when status is final, the whole run. A task not tracked here (given up by the queue after its run
// returned) is not counted.
func (r *Runner) observeStatus(id string, status sesame.TaskStatus) {
	if r.Metrics == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	rt := r.running[id]
	var prev stageClock
	if rt != nil {
		prev = rt.clock
		rt.clock.status, rt.clock.since = status, now
	}
	r.mu.Unlock()
	if rt == nil || prev.status.Final() {
		return // not ours, or already counted as ended
	}
	if prev.status != "" && prev.status != sesame.StatusQueued {
		r.Metrics.TaskStage(prev.status, now.Sub(prev.since))
	}
	if status.Final() {
		r.Metrics.TaskEnded(status, now.Sub(prev.claimed))
	}
}
