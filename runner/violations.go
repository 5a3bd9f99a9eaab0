package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	sesame "github.com/sesame-works/sesame"
)

// maxViolationEvents bounds the violation events one task stores; later ones are only counted.
const maxViolationEvents = 200

// violations records what the sandbox refused a task: each one as a task event (up to
// maxViolationEvents) and all of them counted for the reply and the pull request.
type violations struct {
	r  *Runner
	t  *sesame.Task
	mu sync.Mutex
	// by kind, the distinct targets in the order first seen, and the total count
	targets map[sesame.ViolationKind][]string
	count   map[sesame.ViolationKind]int
	total   int
}

func newViolations(r *Runner, t *sesame.Task) *violations {
	return &violations{r: r, t: t, targets: map[sesame.ViolationKind][]string{}, count: map[sesame.ViolationKind]int{}}
}

// add is the sandbox's OnViolation: it stores and publishes v as an event of the task.
func (v *violations) add(x sesame.Violation) {
	v.mu.Lock()
	v.total++
	n := v.total
	v.count[x.Kind]++
	if t := "`" + plain(x.Target) + "`"; !slices.Contains(v.targets[x.Kind], t) {
		v.targets[x.Kind] = append(v.targets[x.Kind], t)
	}
	v.mu.Unlock()
	if v.r.Metrics != nil {
		v.r.Metrics.Violation(x.Kind)
	}
	if n > maxViolationEvents {
		return
	}
	msg := fmt.Sprintf("blocked %s %s", x.Access, x.Target)
	e := sesame.TaskEvent{TaskID: v.t.ID, Type: sesame.EventViolation, Message: msg, Data: x.Data()}
	if _, err := v.r.recorder().Add(context.Background(), e); err != nil {
		v.r.Logger.Warn("record violation", "task_id", v.t.ID, "err", err)
	}
}

// summary says in one line what was blocked: "2 connections blocked: example.org:443, evil.test:80;
// 1 file access blocked: /etc/shadow". Empty when nothing was.
func (v *violations) summary() string {
	if v == nil {
		return ""
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var parts []string
	for _, k := range []struct {
		kind        sesame.ViolationKind
		one, plural string
	}{{sesame.ViolationNetwork, "connection", "connections"}, {sesame.ViolationFilesystem, "file access", "file accesses"}} {
		n := v.count[k.kind]
		if n == 0 {
			continue
		}
		noun := k.plural
		if n == 1 {
			noun = k.one
		}
		targets := v.targets[k.kind]
		list := strings.Join(targets[:min(len(targets), 5)], ", ")
		if len(targets) > 5 {
			list += ", …"
		}
		parts = append(parts, fmt.Sprintf("%d %s blocked: %s", n, noun, list))
	}
	return strings.Join(parts, "; ")
}

// plain makes a target the agent chose safe to quote in markdown: no backticks, no line breaks,
// at most 200 bytes.
func plain(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '`' || r == '\n' || r == '\r' {
			return '?'
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
