package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
)

// SubscriptionBuffer is how many events a viewer may fall behind before it is dropped with ErrLagged:
// two seconds of a task emitting 1,000 events/s, at 8 bytes a slot (16 KiB a viewer).
const SubscriptionBuffer = 2048

// Why a subscription's C was closed; see Subscription.Err.
var (
	// ErrLagged: the viewer did not keep up and its buffer filled. Resume from the store.
	ErrLagged = errors.New("events: viewer fell behind")
	// ErrResync: the hub lost its Redis connection, so events may have been missed. Resume from the
	// store.
	ErrResync = errors.New("events: live events interrupted")
	// ErrClosed: the hub was closed.
	ErrClosed = errors.New("events: hub closed")
)

// Hub is a web process's single fan-out point from Redis to its viewers of live task events.
//
// The hub holds one pub/sub connection. All local subscriptions to one task share one Redis
// subscription of Channel(taskID): the first subscriber subscribes the channel, the last to leave
// unsubscribes it. Each message is decoded once and the same value is handed to every viewer of the
// task, so the event (and its Data) is shared and must be treated as read-only.
//
// Events reach a subscription in the order Redis delivered them. A viewer that falls
// SubscriptionBuffer events behind is dropped (ErrLagged) rather than slowing the hub or other
// viewers. When the connection to Redis is lost every subscription alive at that moment ends with
// ErrResync: messages published during the gap are gone, so the viewer must read the store again.
// Malformed messages, and messages whose task id does not match their channel, are logged and skipped.
//
// All methods are safe for concurrent use.
type Hub struct {
	rdb    redis.UniversalClient
	logger *slog.Logger

	healthInterval time.Duration // ping when nothing arrived for this long; give up after twice this
	lastRecv       atomic.Int64  // unix nanoseconds of the last reply on the current connection

	mu       sync.Mutex
	closed   bool
	ps       *redis.PubSub // the current connection; replaced after it fails
	topics   map[string]*topic
	inflight map[string]int // (un)subscribe commands Redis has not answered on ps, by channel
	queue    []command      // commands for the writer, in the order they were decided

	wake chan struct{} // the queue has commands
	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// topic is the local state of one task's channel.
type topic struct {
	taskID, channel string
	subs            []*Subscription // confirmed: receive every event
	pending         []*Subscription // waiting for Redis to confirm the subscription
	live            bool            // Redis confirmed; ready is closed
	ready           chan struct{}
}

type command struct {
	unsubscribe bool
	channel     string
}

// NewHub starts a hub on rdb. Close it to stop.
func NewHub(rdb redis.UniversalClient, logger *slog.Logger) *Hub {
	h := &Hub{
		rdb:            rdb,
		logger:         logger,
		healthInterval: 30 * time.Second,
		ps:             rdb.Subscribe(context.Background()),
		topics:         make(map[string]*topic),
		inflight:       make(map[string]int),
		wake:           make(chan struct{}, 1),
		done:           make(chan struct{}),
	}
	h.lastRecv.Store(time.Now().UnixNano())
	h.wg.Add(3)
	go h.receive()
	go h.write()
	go h.checkHealth()
	return h
}

// Subscribe starts following a task's live events. It returns once Redis has confirmed the
// subscription, so a caller that then reads the task's stored events misses none: an event is stored
// before it is published. The same event may arrive both ways; skip ids already seen. While Redis is
// unreachable Subscribe waits, so give ctx a deadline. After Close it fails with ErrClosed.
func (h *Hub) Subscribe(ctx context.Context, taskID string) (*Subscription, error) {
	ch := Channel(taskID)
	c := make(chan *sesame.TaskEvent, SubscriptionBuffer)
	s := &Subscription{C: c, c: c, hub: h}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	t := h.topics[ch]
	if t == nil {
		t = &topic{taskID: taskID, channel: ch, ready: make(chan struct{})}
		h.topics[ch] = t
		h.enqueue(command{channel: ch})
	}
	s.t = t
	if t.live {
		t.add(s)
		h.mu.Unlock()
		return s, nil
	}
	s.state = statePending
	t.pending = append(t.pending, s)
	h.mu.Unlock()

	select {
	case <-t.ready:
	case <-ctx.Done():
	case <-h.done:
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case s.state == statePending:
		h.end(s, nil)
		return nil, fmt.Errorf("subscribe to task %s: %w", taskID, ctx.Err())
	case s.err == ErrClosed:
		return nil, ErrClosed
	}
	return s, nil // confirmed, perhaps already ended (ErrLagged, ErrResync): the caller sees it on C
}

// Close ends every subscription with ErrClosed, closes the Redis connection and waits for the hub's
// goroutines. Later calls do nothing.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for _, t := range h.topics {
		t.finishAll(ErrClosed)
	}
	clear(h.topics)
	ps := h.ps
	close(h.done)
	h.mu.Unlock()

	err := ps.Close()
	h.wg.Wait()
	if err != nil && !errors.Is(err, redis.ErrClosed) { // closed already after a failure
		return fmt.Errorf("close task events hub: %w", err)
	}
	return nil
}

// enqueue asks the writer to send c. Callers hold h.mu.
func (h *Hub) enqueue(c command) {
	h.queue = append(h.queue, c)
	h.inflight[c.channel]++
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// write sends (un)subscribe commands in the order they were decided, so that the last one sent for a
// channel matches whether it has subscribers.
func (h *Hub) write() {
	defer h.wg.Done()
	for {
		select {
		case <-h.done:
			return
		case <-h.wake:
		}
		h.mu.Lock()
		ps, cmds := h.ps, h.queue
		h.queue = nil
		h.mu.Unlock()
		if err := send(ps, cmds); err != nil {
			h.fail(ps, fmt.Errorf("send subscriptions: %w", err))
		}
	}
}

// send writes cmds to ps, a run of subscribes or unsubscribes in one command.
func send(ps *redis.PubSub, cmds []command) error {
	ctx := context.Background()
	for len(cmds) > 0 {
		n := 1
		for n < len(cmds) && cmds[n].unsubscribe == cmds[0].unsubscribe {
			n++
		}
		channels := make([]string, n)
		for i, c := range cmds[:n] {
			channels[i] = c.channel
		}
		var err error
		if cmds[0].unsubscribe {
			err = ps.Unsubscribe(ctx, channels...)
		} else {
			err = ps.Subscribe(ctx, channels...)
		}
		if err != nil {
			return err
		}
		cmds = cmds[n:]
	}
	return nil
}

// fail closes a connection that went wrong outside receive; receive then starts a new one. go-redis
// would reconnect on its own, but silently: the gap must end the subscriptions with ErrResync.
func (h *Hub) fail(ps *redis.PubSub, err error) {
	if ps.Close() == nil { // not closed already, by receive or Close
		h.logger.Warn("task events: redis connection failed", "err", err)
	}
}

// checkHealth pings a quiet connection and closes it when even the ping gets no reply.
func (h *Hub) checkHealth() {
	defer h.wg.Done()
	tick := time.NewTicker(h.healthInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
		}
		h.mu.Lock()
		ps := h.ps
		h.mu.Unlock()
		switch idle := time.Since(time.Unix(0, h.lastRecv.Load())); {
		case idle >= 2*h.healthInterval:
			h.fail(ps, fmt.Errorf("no reply to ping in %s", idle.Round(time.Second)))
		case idle >= h.healthInterval:
			ctx, cancel := context.WithTimeout(context.Background(), h.healthInterval)
			if err := ps.Ping(ctx); err != nil {
				h.fail(ps, fmt.Errorf("ping: %w", err))
			}
			cancel()
		}
	}
}

// receive reads the current connection until it fails, then starts the next one.
func (h *Hub) receive() {
	defer h.wg.Done()
	var backoff time.Duration
	for {
		h.mu.Lock()
		ps := h.ps
		h.mu.Unlock()
		got := false
		var err error
		for {
			var msg any
			if msg, err = ps.Receive(context.Background()); err != nil {
				break
			}
			got = true
			h.lastRecv.Store(time.Now().UnixNano())
			switch msg := msg.(type) {
			case *redis.Message:
				h.dispatch(msg)
			case *redis.Subscription:
				h.confirm(msg.Channel)
			}
		}
		if !h.resync(ps, err) {
			return
		}
		if got {
			backoff = 0
		} else {
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		}
		select {
		case <-h.done:
			return
		case <-time.After(backoff):
		}
	}
}

// resync replaces a failed connection: subscriptions alive on it end with ErrResync, those still
// waiting for a confirmation are subscribed again on the new one. It reports false once the hub is
// closed.
func (h *Hub) resync(ps *redis.PubSub, cause error) bool {
	ps.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.ps = h.rdb.Subscribe(context.Background()) // connects on first use
	h.lastRecv.Store(time.Now().UnixNano())
	clear(h.inflight)
	h.queue = nil
	ended := 0
	for ch, t := range h.topics {
		if t.live { // all its subscriptions are live: a new one joins a live topic at once
			ended += len(t.subs)
			t.finishAll(ErrResync)
			delete(h.topics, ch)
			continue
		}
		h.enqueue(command{channel: ch}) // none is live yet: subscribe again for the waiting ones
	}
	h.logger.Warn("task events: lost the redis connection; viewers resume from the store",
		"err", cause, "viewers_ended", ended)
	return true
}

// confirm counts Redis's answer to a (un)subscribe of channel. Once every command sent for a channel
// with subscribers is answered, the last was its subscribe, so the waiting subscriptions go live.
func (h *Hub) confirm(channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.inflight[channel]; n > 1 {
		h.inflight[channel] = n - 1
		return
	}
	delete(h.inflight, channel)
	t := h.topics[channel]
	if t == nil || t.live {
		return
	}
	for _, s := range t.pending {
		t.add(s)
	}
	clear(t.pending)
	t.pending = t.pending[:0]
	t.live = true
	close(t.ready)
}

// dispatch decodes msg once and hands the event to each of its task's subscriptions without waiting.
func (h *Hub) dispatch(msg *redis.Message) {
	e := new(sesame.TaskEvent)
	if err := json.Unmarshal([]byte(msg.Payload), e); err != nil {
		h.logger.Warn("task events: skip malformed message", "channel", msg.Channel, "err", err)
		return
	}
	lagged := 0
	h.mu.Lock()
	t := h.topics[msg.Channel]
	if t == nil {
		h.mu.Unlock()
		return
	}
	if e.TaskID != t.taskID {
		h.mu.Unlock()
		h.logger.Warn("task events: skip message for another task", "channel", msg.Channel,
			"task_id", e.TaskID, "event_id", e.ID)
		return
	}
	for i := 0; i < len(t.subs); {
		select {
		case t.subs[i].c <- e:
			i++
		default:
			h.end(t.subs[i], ErrLagged) // moves the last subscription to i
			lagged++
		}
	}
	h.mu.Unlock()
	if lagged > 0 {
		h.logger.Info("task events: dropped viewers that fell behind", "task_id", e.TaskID, "viewers", lagged)
	}
}

// end closes s with err and, when it was its task's last subscription, unsubscribes the channel.
// Callers hold h.mu.
func (h *Hub) end(s *Subscription, err error) {
	t := s.t
	switch s.state {
	case stateEnded:
		return
	case stateLive:
		last := len(t.subs) - 1
		t.subs[s.idx] = t.subs[last]
		t.subs[s.idx].idx = s.idx
		t.subs[last] = nil
		t.subs = t.subs[:last]
	case statePending:
		for i, p := range t.pending {
			if p == s {
				t.pending = slices.Delete(t.pending, i, i+1)
				break
			}
		}
	}
	s.finish(err)
	if len(t.subs)+len(t.pending) == 0 && h.topics[t.channel] == t {
		delete(h.topics, t.channel)
		if !h.closed {
			h.enqueue(command{unsubscribe: true, channel: t.channel})
		}
	}
}

// add makes s a live subscription of t.
func (t *topic) add(s *Subscription) {
	s.state = stateLive
	s.idx = len(t.subs)
	t.subs = append(t.subs, s)
}

// finishAll ends every subscription of t with err, leaving t's bookkeeping to the caller.
func (t *topic) finishAll(err error) {
	for _, s := range t.subs {
		s.finish(err)
	}
	for _, s := range t.pending {
		s.finish(err)
	}
}
