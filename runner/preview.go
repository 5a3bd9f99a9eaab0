package runner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox/preview"
)

// previewPoll is how often the runner asks the sandbox which ports have a server.
const previewPoll = 2 * time.Second

// openPreviews starts the task's preview gateway in its folder. Previews are a convenience: when
// the gateway cannot start the task runs without them (nil).
func (r *Runner) openPreviews(taskDir string, log *slog.Logger) *preview.Gateway {
	gw, err := preview.Listen(preview.SocketPath(taskDir))
	if err != nil {
		log.Warn("start the preview gateway; the task runs without previews", "err", err)
		return nil
	}
	return gw
}

// previewSocket is the gateway's socket, "" for none.
func previewSocket(gw *preview.Gateway) string {
	if gw == nil {
		return ""
	}
	return gw.Path()
}

// watchPreviews records a preview event each time the set of ports with a server in the sandbox
// changes, until the returned stop is called; stop records that the previews closed, if any were
// open.
func (r *Runner) watchPreviews(ctx context.Context, t *sesame.Task, gw *preview.Gateway) (stop func()) {
	if gw == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var open []int
	go func() {
		defer close(done)
		tick := time.NewTicker(previewPoll)
		defer tick.Stop()
		for {
			ports, err := gw.Ports(ctx)
			if err == nil && !slices.Equal(ports, open) {
				open = ports
				r.recordPreviews(context.WithoutCancel(ctx), t, ports)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		if len(open) > 0 {
			r.recordPreviews(context.WithoutCancel(ctx), t, nil)
		}
	}
}

// recordPreviews records the ports that have a server in the sandbox now.
func (r *Runner) recordPreviews(ctx context.Context, t *sesame.Task, ports []int) {
	msg := "No server runs in the sandbox any more; its previews closed."
	if len(ports) > 0 {
		s := make([]string, len(ports))
		for i, p := range ports {
			s[i] = strconv.Itoa(p)
		}
		msg = fmt.Sprintf("A server listens in the sandbox on port %s: open its preview from this page.", strings.Join(s, ", "))
	}
	e := sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventPreview, Message: msg, Data: map[string]any{"ports": ports}}
	if ports == nil {
		e.Data["ports"] = []int{}
	}
	if _, err := r.recorder().Add(ctx, e); err != nil {
		r.Logger.Warn("record event", "task_id", t.ID, "err", err)
	}
}
