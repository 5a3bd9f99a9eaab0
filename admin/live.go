package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// Live is the feed of events published as tasks run, from any worker.
type Live interface {
	// Follow returns the events of the task published from now on. It returns once the feed is
	// established, so nothing published after it returns is missed. The channel closes when stop is
	// called or when the feed broke (the viewer fell behind, or the connection to Redis was lost);
	// the viewer then resumes from the stored events.
	Follow(ctx context.Context, taskID string) (events <-chan *sesame.TaskEvent, stop func(), err error)
}

// followTimeout bounds the wait for the live feed (Redis) before a stream gives up with 503.
const followTimeout = 5 * time.Second

// heartbeat keeps idle streams open through proxies and lets the server notice a gone client.
const heartbeat = 15 * time.Second

// taskEvents streams a task's events as Server-Sent Events. It starts after the id in Last-Event-ID
// (sent by the browser when it reconnects) or in ?after= (the last event the page was rendered with),
// sends the stored events after it, then the live ones, skipping any already sent, and ends with an
// "end" event once the task has ended.
func (a *App) taskEvents(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	ctx := r.Context()
	t, err := a.Tasks.Task(ctx, r.PathValue("id"))
	if err != nil || !canSee(u, t) {
		http.Error(w, "No such task.", http.StatusNotFound)
		return
	}
	after := lastEventID(r)

	// Follow first, then read what is stored: an event published in between is in both, and is sent once.
	var live <-chan *sesame.TaskEvent
	stop := func() {}
	if !t.Status.Final() {
		// Redis down: answer 503 after a few seconds rather than keep the browser waiting.
		follow, cancel := context.WithTimeout(ctx, followTimeout)
		live, stop, err = a.Live.Follow(follow, t.ID)
		cancel()
		if err != nil {
			a.Logger.Error("follow task events", "task_id", t.ID, "err", err)
			http.Error(w, "Live events are unavailable right now; reload the page.", http.StatusServiceUnavailable)
			return
		}
	}
	defer stop()
	stored, err := a.Tasks.EventsAfter(ctx, t.ID, after)
	if err != nil {
		a.Logger.Error("stored task events", "task_id", t.ID, "err", err)
		http.Error(w, "Events could not be read; reload the page.", http.StatusServiceUnavailable)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	final := t.Status.Final()
	for _, e := range stored {
		if _, err := w.Write(a.frames.frame(e, a.pages)); err != nil {
			return
		}
		after = e.ID
		final = final || finalStatus(e)
	}
	if !final && live != nil {
		// The task may have ended between loading it and following it, with nothing more to publish.
		if t, err := a.Tasks.Task(ctx, t.ID); err == nil && t.Status.Final() {
			final = true
		}
	}
	if final {
		w.Write(endFrame)
		rc.Flush()
		return
	}
	if rc.Flush() != nil {
		return
	}

	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	pause := time.NewTimer(0)
	<-pause.C
	replayed := after
	// send writes one live event; it reports false once the stream is over (ended, or the viewer left).
	send := func(e *sesame.TaskEvent) bool {
		if e.ID <= replayed {
			return true // already sent from the store
		}
		if _, err := w.Write(a.frames.frame(*e, a.pages)); err != nil {
			return false
		}
		if finalStatus(*e) {
			w.Write(endFrame)
			rc.Flush()
			return false
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case e, ok := <-live:
			if !ok || !send(e) {
				return // closed: the browser reconnects with Last-Event-ID and catches up from the store
			}
		}
		// Write what else is already waiting, then flush once for the lot.
		for len(live) > 0 {
			if e, ok := <-live; !ok || !send(e) {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
		// Let the next events gather for a moment: a busy task costs each viewer one write per
		// flushEvery rather than one per event, while a quiet task's next event still goes out at once.
		pause.Reset(flushEvery)
		select {
		case <-ctx.Done():
			return
		case <-pause.C:
		}
	}
}

// flushEvery is the shortest time between two writes to one event stream. With 500 viewers of one task
// emitting 1,000 events/s on 2 cores, one write per event per viewer saturated the machine (p99 over
// 150 ms, viewers dropped for lagging); writing at most every 50 ms keeps p99 near 80 ms, no drops,
// for about 25 ms more median delay than an idle machine would give. A quiet task's next event still
// goes out at once.
const flushEvery = 50 * time.Millisecond

var endFrame = []byte("event: end\ndata: {}\n\n")

func finalStatus(e sesame.TaskEvent) bool {
	return e.Type == sesame.EventStatus && sesame.TaskStatus(e.Message).Final()
}

func lastEventID(r *http.Request) int64 {
	var id int64
	for _, s := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > id {
			id = n
		}
	}
	return id
}

// frameCache renders each event to its SSE frame once per process, however many viewers it has: with
// hundreds of viewers of one busy task, rendering per viewer would cost more than everything else.
type frameCache struct {
	mu     sync.Mutex
	frames map[int64][]byte
	order  []int64 // ring of cached ids, oldest evicted first
	next   int
}

func newFrameCache(size int) *frameCache {
	return &frameCache{frames: make(map[int64][]byte, size), order: make([]int64, size)}
}

// liveMessage is the data of one SSE event: the event rendered as the page renders it.
type liveMessage struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status,omitempty"`  // a status event's new status, for the summary's badge
	Sandbox string `json:"sandbox,omitempty"` // a sandbox event's line for the summary
	Ports   *[]int `json:"ports,omitempty"`   // a preview event's ports, for the summary's links
	HTML    string `json:"html"`
}

func (c *frameCache) frame(e sesame.TaskEvent, p *pages) []byte {
	c.mu.Lock()
	f, ok := c.frames[e.ID]
	c.mu.Unlock()
	if ok {
		return f
	}
	var html bytes.Buffer
	if err := p.event.Execute(&html, viewEvent(e)); err != nil {
		html.Reset()
		html.WriteString(`<li class="event error">This event could not be shown.</li>`)
	}
	m := liveMessage{ID: e.ID, Type: e.Type, HTML: html.String()}
	switch e.Type {
	case sesame.EventStatus:
		m.Status = e.Message
	case sesame.EventSandbox:
		m.Sandbox = sandboxLine(e)
	case sesame.EventPreview:
		ports := previewPorts(e)
		m.Ports = &ports
	}
	data, _ := json.Marshal(m)
	f = make([]byte, 0, len(data)+40)
	f = append(f, "id: "...)
	f = strconv.AppendInt(f, e.ID, 10)
	f = append(f, "\nevent: task\ndata: "...)
	f = append(f, data...)
	f = append(f, "\n\n"...)

	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.frames[e.ID]; ok { // another viewer rendered it meanwhile
		return cached
	}
	if old := c.order[c.next]; old != 0 {
		delete(c.frames, old)
	}
	c.order[c.next] = e.ID
	c.next = (c.next + 1) % len(c.order)
	c.frames[e.ID] = f
	return f
}
