package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/internal/redistest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
)

// BenchmarkLiveFanout measures live-event fan-out: one task emitting SSE_RATE events per second
// (default 1,000) for SSE_SECONDS (default 10) while SSE_CLIENTS (default 500) viewers follow it over
// Server-Sent Events, against the real binary (`sesame serve --role web`) in a separate process.
//
// Events are made as a running task makes them, by events.Recorder.Add (store in Postgres, then
// publish on Redis) in this process, open loop: a ticker releases the events that are due, and
// SSE_PUBLISHERS goroutines (default 4) add them, so that one slow insert does not hold the
// schedule back. events.Recorder still stores and publishes one task's events one at a time, in id
// order; a go-redis hook (publishClock) checks it. Each viewer is a plain HTTP client reading the
// stream.
// Every (event, viewer) pair's delay is measured two ways:
//
//	p50/p99/max-ms:      from just before Recorder.Add to the viewer reading the frame;
//	pub-p50/p99/max-ms:  from the PUBLISH command leaving this process to the viewer reading the
//	                     frame: the fan-out alone, without the Postgres insert.
//
// events/s is the rate achieved (below SSE_RATE when the publishers cannot keep up: see the schedule
// lag in the summary); rss-MiB and hwm-MiB are the server's VmRSS at the end of publishing and its
// VmHWM (peak); srv-cpu is the cores the server used meanwhile. The summary line also splits the
// machine's CPU between the server, this process (viewers and publishers), PostgreSQL, Redis and the
// rest, where other work on the machine shows. Every viewer must receive every event exactly once, or
// the benchmark fails. One iteration is the whole run.
//
// Run with: make bench-live   (three runs: scripts/test -run '^$' -bench BenchmarkLiveFanout -benchtime 1x -count 3 ./cmd/sesame)
func BenchmarkLiveFanout(b *testing.B) {
	clients := fanoutEnvInt(b, "SSE_CLIENTS", 500)
	rate := fanoutEnvInt(b, "SSE_RATE", 1000)
	seconds := fanoutEnvInt(b, "SSE_SECONDS", 10)
	publishers := fanoutEnvInt(b, "SSE_PUBLISHERS", 4)
	fanoutRaiseFileLimit(b, uint64(2*clients+1024)) // the server inherits the limit

	ctx := context.Background()
	dbURL := pgtest.NewDatabase(b)
	rdbDB := redistest.New(b)
	srv := startSesame(b, []string{
		"BETTER_AUTH_SECRET=bench-auth-secret-0123456789abcdefghijklmnop",
		"ENCRYPTION_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"BASE_URL=https://sesame.example.com",
		"DATABASE_URL=" + dbURL,
		"REDIS_URL=" + rdbDB.URL(),
		"LISTEN_ADDR=127.0.0.1:0",
		"LOG_LEVEL=info", // debug would log every request and cost the server more than the fan-out
	}, "--role", "web")
	pid := srv.cmd.Process.Pid
	cookie := fanoutSetUp(b, "http://"+srv.addr)

	// The producer side, as a worker has it: the task store and a recorder on the same database and Redis.
	db, err := postgres.Open(ctx, dbURL) // the server has migrated it
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	tasks := postgres.NewTaskStore(db)
	rdb := redis.NewClient(rdbDB.Options())
	b.Cleanup(func() { rdb.Close() })
	epoch := time.Now() // every time below is measured from here, on the monotonic clock
	clock := newPublishClock(epoch)
	rdb.AddHook(clock)
	rec := &events.Recorder{Store: tasks, Redis: rdb, Masker: mask.New(), Logger: slog.New(slog.DiscardHandler)}
	task, _, err := tasks.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: "bench", Kind: sesame.KindRun, Repo: "o/r"})
	if err != nil {
		b.Fatal(err)
	}

	// Attach every viewer. A stream's headers arrive once the server follows the task, so once every
	// client has its response, every viewer is subscribed; the running status then proves each stream.
	total := b.N * rate * seconds
	viewers := attachViewers(b, "http://"+srv.addr+"/tasks/"+task.ID+"/events", cookie, clients, epoch, total)
	if err := rec.SetStatus(ctx, task.ID, sesame.StatusRunning, ""); err != nil {
		b.Fatal(err)
	}
	waitViewers(b, viewers, "the running status", func(v *fanoutViewer) chan struct{} { return v.running }, 30*time.Second)
	rssAttached, _ := procStatusKiB(pid, "VmRSS")

	cpu0 := sampleCPU(pid)
	b.ResetTimer()
	sent, elapsed := publishOpenLoop(b, rec, task.ID, epoch, total, rate, publishers)
	b.StopTimer()
	cpu := sampleCPU(pid).since(cpu0, elapsed)
	rss, _ := procStatusKiB(pid, "VmRSS")

	// End the task: each stream sends the completed status and "end", then closes.
	if err := rec.SetStatus(ctx, task.ID, sesame.StatusCompleted, ""); err != nil {
		b.Fatal(err)
	}
	waitViewers(b, viewers, "end of the stream", func(v *fanoutViewer) chan struct{} { return v.done }, 60*time.Second)
	hwm, _ := procStatusKiB(pid, "VmHWM")

	r := tally(viewers, sent, clock)
	achieved := float64(total) / elapsed.Seconds()
	b.ReportMetric(r.fromAdd.ms(0.50), "p50-ms")
	b.ReportMetric(r.fromAdd.ms(0.99), "p99-ms")
	b.ReportMetric(r.fromAdd.ms(1), "max-ms")
	b.ReportMetric(r.fromPub.ms(0.50), "pub-p50-ms")
	b.ReportMetric(r.fromPub.ms(0.99), "pub-p99-ms")
	b.ReportMetric(r.fromPub.ms(1), "pub-max-ms")
	b.ReportMetric(float64(rss)/1024, "rss-MiB")
	b.ReportMetric(float64(hwm)/1024, "hwm-MiB")
	b.ReportMetric(achieved, "events/s")
	b.ReportMetric(cpu.server, "srv-cpu")
	b.ReportMetric(0, "ns/op") // one run of fixed length: time per op says nothing
	b.Logf("live fan-out: %d viewers, %d events at %.0f/s (asked %d/s; %d publishers, max schedule lag %.0f ms) in %.1f s; "+
		"Add before PUBLISH (mask, insert, turn) p50 %.2f ms, p99 %.2f ms; PUBLISH p50 %.2f ms, p99 %.2f ms. "+
		"Delay from Add p50 %.1f ms, p99 %.1f ms, max %.1f ms; from PUBLISH p50 %.1f ms, p99 %.1f ms, max %.1f ms. "+
		"%d of %d deliveries lost, %d duplicated, %d id/data mismatches, %d streams ended early, %d lag drops logged. "+
		"Server RSS %.1f MiB with the viewers attached, %.1f MiB after publishing, peak %.1f MiB. "+
		"CPU busy %.2f of %d cores: server %.2f, this process (viewers, publishers) %.2f, PostgreSQL %.2f, Redis %.2f, "+
		"the rest (kernel, other processes) %.2f",
		clients, total, achieved, rate, publishers, fanoutMS(r.maxLag), elapsed.Seconds(),
		r.beforePub.ms(0.50), r.beforePub.ms(0.99), r.pub.ms(0.50), r.pub.ms(0.99),
		r.fromAdd.ms(0.50), r.fromAdd.ms(0.99), r.fromAdd.ms(1), r.fromPub.ms(0.50), r.fromPub.ms(0.99), r.fromPub.ms(1),
		r.lost, total*clients, r.dup, r.mismatched, r.ended, strings.Count(srv.Logs(), "dropped viewers that fell behind"),
		float64(rssAttached)/1024, float64(rss)/1024, float64(hwm)/1024,
		cpu.busy, runtime.NumCPU(), cpu.server, cpu.self, cpu.postgres, cpu.redis, cpu.rest())
	if r.outOfOrder > 0 {
		b.Errorf("%d events were published after a later one: events.Recorder must keep a task's events in id order", r.outOfOrder)
	}
	if r.lost > 0 || r.dup > 0 || r.mismatched > 0 || r.ended > 0 {
		b.Fatalf("every viewer must receive every event exactly once: %d lost, %d duplicated, %d mismatched, %d streams ended early",
			r.lost, r.dup, r.mismatched, r.ended)
	}
}

// attachViewers opens n event streams at url, 32 at a time as a crowd of browsers would, and starts
// reading them. Each viewer has room for want events.
func attachViewers(b *testing.B, url string, cookie *http.Cookie, n int, epoch time.Time, want int) []*fanoutViewer {
	b.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n + 16, MaxIdleConnsPerHost: n + 16, DisableCompression: true}}
	viewers := make([]*fanoutViewer, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range viewers {
		v := &fanoutViewer{epoch: epoch, got: make([]fanoutRecv, 0, want+16), running: make(chan struct{}), done: make(chan struct{})}
		viewers[i] = v
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v.connect(hc, url, cookie)
		})
	}
	wg.Wait()
	for i, v := range viewers {
		if v.err != nil {
			b.Fatalf("viewer %d: %v", i, v.err)
		}
	}
	for _, v := range viewers {
		go v.read()
	}
	return viewers
}

// waitViewers waits until every viewer's channel picked by ch is closed.
func waitViewers(b *testing.B, viewers []*fanoutViewer, what string, ch func(*fanoutViewer) chan struct{}, within time.Duration) {
	b.Helper()
	deadline := time.After(within)
	for i, v := range viewers {
		select {
		case <-ch(v):
		case <-deadline:
			b.Fatalf("viewer %d of %d: no %s within %s (%v)", i, len(viewers), what, within, v.failure())
		}
	}
}

// publishOpenLoop adds total agent events to the task at rate per second, open loop: event i is due
// at start + i/rate whether or not the earlier ones are done. A ticker releases the due events to
// publishers goroutines, each timing its Add from just before the call.
func publishOpenLoop(b *testing.B, rec *events.Recorder, taskID string, epoch time.Time, total, rate, publishers int) ([]fanoutSent, time.Duration) {
	b.Helper()
	ctx := context.Background()
	interval := time.Second / time.Duration(rate)
	sent := make([]fanoutSent, total)
	jobs := make(chan int, total)
	var failed atomic.Int64
	var wg sync.WaitGroup
	msg := strings.Repeat("and the agent keeps reading files to find where the typo is used. ", 2)
	start := time.Since(epoch)
	for range publishers {
		wg.Go(func() {
			for i := range jobs {
				e := sesame.TaskEvent{TaskID: taskID, Type: "agent", Data: map[string]any{"kind": "text"},
					Message: fmt.Sprintf("Step %d: reading src/pkg%02d/file%04d.go %s", i, i%50, i, msg)}
				at := time.Since(epoch)
				stored, err := rec.Add(ctx, e)
				if err != nil {
					failed.Add(1)
					continue
				}
				sent[i] = fanoutSent{id: stored.ID, at: at, took: time.Since(epoch) - at, lag: at - start - time.Duration(i)*interval}
			}
		})
	}
	tick := time.NewTicker(interval)
	for released := 0; released < total; {
		<-tick.C
		due := min(total, int((time.Since(epoch)-start)/interval)+1)
		for ; released < due; released++ {
			jobs <- released
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(epoch) - start
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d Recorder.Add calls failed", n, total)
	}
	return sent, elapsed
}

// fanoutResult is what the viewers received, against what was published.
type fanoutResult struct {
	fromAdd, fromPub durations // per (event, viewer) delivered
	beforePub, pub   durations // per event: Add's time before its PUBLISH, and the PUBLISH's
	maxLag           time.Duration
	lost, dup        int // (event, viewer) pairs never received, received again
	mismatched       int // frames whose data id differs from their id line
	ended            int // streams that closed before "end"
	outOfOrder       int // PUBLISHes of an id below one already published
}

func tally(viewers []*fanoutViewer, sent []fanoutSent, clock *publishClock) fanoutResult {
	var r fanoutResult
	index := make(map[int64]int, len(sent))
	pubAt := make([]time.Duration, len(sent))
	clock.mu.Lock()
	for i, s := range sent {
		index[s.id] = i
		pubAt[i] = clock.at[s.id]
		r.beforePub = append(r.beforePub, pubAt[i]-s.at)
		r.pub = append(r.pub, s.at+s.took-pubAt[i])
		r.maxLag = max(r.maxLag, s.lag)
	}
	r.outOfOrder = clock.outOfOrder
	clock.mu.Unlock()
	r.fromAdd = make(durations, 0, len(sent)*len(viewers))
	r.fromPub = make(durations, 0, len(sent)*len(viewers))
	seen := make([]bool, len(sent))
	for _, v := range viewers {
		clear(seen)
		r.mismatched += v.mismatched
		if v.endedEarly {
			r.ended++
		}
		for _, got := range v.got {
			i, ok := index[got.id]
			if !ok {
				continue // a status event
			}
			if seen[i] {
				r.dup++
				continue
			}
			seen[i] = true
			r.fromAdd = append(r.fromAdd, got.at-sent[i].at)
			r.fromPub = append(r.fromPub, got.at-pubAt[i])
		}
		for _, ok := range seen {
			if !ok {
				r.lost++
			}
		}
	}
	for _, d := range []durations{r.fromAdd, r.fromPub, r.beforePub, r.pub} {
		slices.Sort(d)
	}
	return r
}

// durations are sorted durations.
type durations []time.Duration

// ms returns quantile q (0 to 1) in milliseconds.
func (d durations) ms(q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return fanoutMS(d[min(len(d)-1, int(float64(len(d))*q))])
}

// fanoutSent is one event as published.
type fanoutSent struct {
	id   int64
	at   time.Duration // Add was called, since the epoch
	took time.Duration // by Add
	lag  time.Duration // behind its place in the schedule
}

// fanoutRecv is one frame a viewer read: the event id and when the frame's last line arrived.
type fanoutRecv struct {
	id int64
	at time.Duration // since the epoch
}

// fanoutViewer is one browser following the task's event stream.
type fanoutViewer struct {
	epoch time.Time
	body  io.ReadCloser
	err   error

	got        []fanoutRecv
	mismatched int  // frames whose data id differs from their id line
	endedEarly bool // the stream closed before the "end" event
	running    chan struct{}
	done       chan struct{}
	mu         sync.Mutex // guards err after connect
}

func (v *fanoutViewer) failure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

func (v *fanoutViewer) connect(hc *http.Client, url string, cookie *http.Cookie) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(cookie)
	resp, err := hc.Do(req)
	if err != nil {
		v.err = err
		return
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		resp.Body.Close()
		v.err = fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
		return
	}
	v.body = resp.Body
}

// read parses the stream until its "end" event: `id: N`, `event: E` and `data: {"id":N,...}` lines,
// a blank line ending each frame. It reads only the fields it needs, so that 500 viewers in this
// process leave the CPU to the server: the data's id (liveMessage's first field), and the status of
// status events.
func (v *fanoutViewer) read() {
	defer close(v.done)
	defer v.body.Close()
	br := bufio.NewReaderSize(v.body, 64<<10)
	var (
		id, dataID int64 = -1, -1
		event      []byte
		sawRunning bool
	)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			v.mu.Lock()
			v.err = fmt.Errorf("read stream: %w", err)
			v.mu.Unlock()
			v.endedEarly = true
			return
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0: // end of a frame
			if id >= 0 {
				at := time.Since(v.epoch)
				if dataID != id {
					v.mismatched++
				}
				v.got = append(v.got, fanoutRecv{id: id, at: at})
			}
			id, dataID, event = -1, -1, event[:0]
		case bytes.HasPrefix(line, []byte("id: ")):
			id, _ = strconv.ParseInt(string(line[4:]), 10, 64)
		case bytes.HasPrefix(line, []byte("event: ")):
			event = append(event[:0], line[7:]...)
		case bytes.HasPrefix(line, []byte("data: ")):
			data := line[6:]
			if string(event) == "end" {
				return
			}
			if rest, ok := bytes.CutPrefix(data, []byte(`{"id":`)); ok {
				if n := bytes.IndexByte(rest, ','); n > 0 {
					dataID, _ = strconv.ParseInt(string(rest[:n]), 10, 64)
				}
			}
			if !sawRunning && bytes.Contains(data, []byte(`"type":"status"`)) {
				var m struct{ Status string }
				if json.Unmarshal(data, &m) == nil && m.Status == string(sesame.StatusRunning) {
					sawRunning = true
					close(v.running)
				}
			}
		}
	}
}

// publishClock records when each event's PUBLISH command leaves for Redis, by event id, and counts
// PUBLISHes that come after one of a higher id (the Recorder serializes a task's events so that none
// does: the event stream resumes by id).
type publishClock struct {
	epoch time.Time

	mu         sync.Mutex
	at         map[int64]time.Duration
	last       int64
	outOfOrder int
}

func newPublishClock(epoch time.Time) *publishClock {
	return &publishClock{epoch: epoch, at: make(map[int64]time.Duration)}
}

func (c *publishClock) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *publishClock) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (c *publishClock) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if cmd.Name() != "publish" || len(args) != 3 {
			return next(ctx, cmd)
		}
		payload, _ := args[2].([]byte)
		var e struct{ ID int64 }
		if json.Unmarshal(payload, &e) != nil {
			return next(ctx, cmd)
		}
		c.mu.Lock()
		c.at[e.ID] = time.Since(c.epoch)
		if e.ID < c.last {
			c.outOfOrder++
		}
		c.last = max(c.last, e.ID)
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

// fanoutSetUp creates the first admin through /setup and returns their session cookie.
func fanoutSetUp(b testing.TB, base string) *http.Cookie {
	b.Helper()
	form := url.Values{"name": {"Ada Admin"}, "email": {"ada@example.com"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("POST /setup: %s\n%s", resp.Status, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "sesame_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	b.Fatal("POST /setup set no sesame_session cookie")
	return nil
}

func fanoutEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

// fanoutRaiseFileLimit raises this process's soft limit on open files to at least need, as far as the
// hard limit allows; processes started afterwards inherit it.
func fanoutRaiseFileLimit(b *testing.B, need uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < need {
		b.Fatalf("open-file limit %d is below the %d needed (hard limit); raise it with ulimit -Hn", lim.Cur, need)
	}
}

// cpuSample is CPU time used so far: by the server, by this process, by PostgreSQL and Redis, and by
// the whole machine.
type cpuSample struct{ server, self, postgres, redis, busy time.Duration }

func sampleCPU(serverPID int) cpuSample {
	svc := servicesCPU()
	return cpuSample{server: procCPU(serverPID), self: selfCPU(), postgres: svc["postgres"], redis: svc["redis-server"], busy: machineBusy()}
}

// cpuCores is CPU used over a period, in cores.
type cpuCores struct{ server, self, postgres, redis, busy float64 }

func (c cpuCores) rest() float64 { return c.busy - c.server - c.self - c.postgres - c.redis }

func (s cpuSample) since(s0 cpuSample, elapsed time.Duration) cpuCores {
	cores := func(a, b time.Duration) float64 { return (a - b).Seconds() / elapsed.Seconds() }
	return cpuCores{server: cores(s.server, s0.server), self: cores(s.self, s0.self), postgres: cores(s.postgres, s0.postgres),
		redis: cores(s.redis, s0.redis), busy: cores(s.busy, s0.busy)}
}

// procStatusKiB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPU returns the user and system CPU time a process has used, from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields from the 3rd (state) on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// servicesCPU returns the CPU time used by the PostgreSQL and Redis processes running now, by name.
// PostgreSQL's are those of every database on the machine, not only the benchmark's.
func servicesCPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if name := strings.TrimSpace(string(comm)); name == "postgres" || name == "redis-server" {
			out[name] += procCPU(pid)
		}
	}
	return out
}

// machineBusy returns the CPU time all cores have spent not idle, from /proc/stat.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, iowait, nor guest time (counted in user already)
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fanoutMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
