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
	// The stream's end is the connection's: no chunk framing, so that a flush of many frames is one
	// write to the socket rather than a chunk header, the frames and a trailing CRLF in three.
	h.Set("Transfer-Encoding", "identity")
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
	// The frames of one flush are gathered in a pooled buffer and written at once: one write to the
	// socket per flush, however many events it holds, and no buffer held between flushes.
	var batch *[]byte
	// write writes what add gathered; it reports false once the viewer left.
	write := func() bool {
		if batch == nil {
			return true
		}
		_, err := w.Write(*batch)
		if cap(*batch) <= 2*flushBytes { // not one grown by a huge event
			*batch = (*batch)[:0]
			framePool.Put(batch)
		}
		batch = nil
		return err == nil
	}
	flush := func() bool { return write() && rc.Flush() == nil }
	// add gathers one live event; it reports false once the stream is over (ended, or the viewer left).
	add := func(e *sesame.TaskEvent) bool {
		if e.ID <= replayed {
			return true // already sent from the store
		}
		if batch == nil {
			batch = framePool.Get().(*[]byte)
		}
		*batch = append(*batch, a.frames.frame(*e, a.pages)...)
		if finalStatus(*e) {
			*batch = append(*batch, endFrame...)
			flush()
			return false
		}
		return len(*batch) < flushBytes || write() // a viewer far behind is written to in pieces
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
			if !ok {
				flush()
				return // closed: the browser reconnects with Last-Event-ID and catches up from the store
			}
			if !add(e) {
				return
			}
		}
		// Gather what else is already waiting, then write and flush once for the lot.
		for len(live) > 0 {
			e, ok := <-live
			if !ok {
				flush()
				return
			}
			if !add(e) {
				return
			}
		}
		if !flush() {
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
// 150 ms, viewers dropped for lagging). Writing at most every 50 ms, each flush's frames gathered into
// one socket write without chunk framing, BenchmarkLiveFanout gave p99 61-68 ms in three runs, the
// server using 0.5-0.6 of a core (0.83-0.87 and p99 128-553 ms while the frames went through the
// response's small buffers one by one), for about 25 ms more median delay than an idle machine would
// give. A quiet task's next event still goes out at once.
const flushEvery = 50 * time.Millisecond

// flushBytes is the size of the buffers that gather a flush's frames; a flush with more is written
// in pieces of about this size. Made at this size up front, not grown frame by frame: grown, they
// put 500 viewers seconds behind in BenchmarkLiveFanout, with 2.5 million of 5 million events lost.
const flushBytes = 64 << 10

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, flushBytes+4<<10); return &b }}

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
	// The page parses the data with JSON.parse, never as HTML: escaping <, > and & as \u003c and the
	// like would only make every frame of every viewer longer (by an eighth for a line of agent text).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
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
