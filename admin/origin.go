package admin

import (
	"context"
	"fmt"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// WebOrigin is where a task asked for in the web app hears back: nowhere but its own page, which
// shows the task's events. The form authorized the request when it was made.
type WebOrigin struct{}

// Describe says who asked, by the name they chose (without invisible characters).
func (WebOrigin) Describe(t *sesame.Task) sesame.RequestDescription {
	who := strings.TrimSpace(textsafe.StripInvisible(t.Requester))
	if who == "" {
		who = "a Sesame user"
	}
	return sesame.RequestDescription{
		Prompt:      fmt.Sprintf("Requested by %s in Sesame for %s", who, t.Repo),
		Commit:      fmt.Sprintf("Requested by %s in Sesame.", who),
		PullRequest: fmt.Sprintf("Requested by %s in Sesame", who),
	}
}

// Authorize lets the task run: the web app checked the user's access when they submitted it.
func (WebOrigin) Authorize(context.Context, *sesame.Task) (bool, string, error) { return true, "", nil }

// Acknowledge says nothing: the task's page shows it was taken.
func (WebOrigin) Acknowledge(context.Context, *sesame.Task) error { return nil }

// Queued says nothing: the task's page shows where it waits (a web request names no issue, so it
// never waits in a thread's line anyway).
func (WebOrigin) Queued(context.Context, *sesame.Task, sesame.LinePlace) error { return nil }

// Progress says nothing: the task's page follows its events live.
func (WebOrigin) Progress(context.Context, *sesame.Task, sesame.TaskProgress) {}

// Finish says nothing: the task's page shows how it ended.
func (WebOrigin) Finish(context.Context, *sesame.Task, sesame.TaskReport) error { return nil }
