package preview

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sesame-works/sesame/sandbox/egress"
)

// Bounds on what one sandbox can make a gateway hold.
const (
	maxIntroducing = 32 // connections that have not introduced themselves yet
	maxControls    = 16 // control connections (one per process that relays for the sandbox)
	maxPending     = 64 // dials and port lists waiting for an answer
	answerTimeout  = 5 * time.Second
)

var errConnRefused = syscall.ECONNREFUSED

// Gateway is the host's end of a sandbox's preview socket. It is safe for concurrent use.
type Gateway struct {
	l       net.Listener
	path    string
	exclude []int // ports no preview may reach (the proxy relay)

	mu          sync.Mutex
	closed      bool
	introducing int
	controls    []*control // oldest first
	pending     map[string]chan answer
	conns       map[net.Conn]struct{} // every connection, closed with the gateway
}

// control is a connection from a process inside the sandbox that dials for the gateway.
type control struct {
	c   net.Conn
	wmu sync.Mutex
}

func (c *control) send(format string, args ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(answerTimeout))
	_, err := fmt.Fprintf(c.c, format, args...)
	return err
}

// answer is what the sandbox said to one request: a stream, a port list, or why not.
type answer struct {
	conn  net.Conn
	ports []int
	err   error
}

// Listen starts a gateway on a new unix socket at path (any stale socket there is replaced). The
// socket's folder must be private to the task: see egress.ListenUnix. Ports in exclude are never
// dialled (the sandbox's proxy relay).
func Listen(path string, exclude ...int) (*Gateway, error) {
	l, err := egress.ListenUnix(path)
	if err != nil {
		return nil, err
	}
	g := &Gateway{l: l, path: path, exclude: exclude, pending: map[string]chan answer{}, conns: map[net.Conn]struct{}{}}
	go g.accept()
	return g, nil
}

// Path is the socket's path on the host.
func (g *Gateway) Path() string { return g.path }

// Close stops the gateway and ends every connection through it, previews included.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	conns := make([]net.Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	err := g.l.Close()
	for _, c := range conns {
		c.Close()
	}
	return err
}

// track adds c to the connections Close ends; false when the gateway is closed.
func (g *Gateway) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *Gateway) untrack(c net.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	c.Close()
}

func (g *Gateway) accept() {
	for {
		c, err := g.l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		g.mu.Lock()
		busy := g.introducing >= maxIntroducing
		if !busy {
			g.introducing++
		}
		g.mu.Unlock()
		if busy || !g.track(c) {
			c.Close()
			if !busy {
				g.introduced()
			}
			continue
		}
		go g.handle(c)
	}
}

func (g *Gateway) introduced() {
	g.mu.Lock()
	g.introducing--
	g.mu.Unlock()
}

// handle reads a new connection's introduction and serves it.
func (g *Gateway) handle(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(introTimeout))
	line, err := readLine(c)
	g.introduced()
	if err != nil {
		g.untrack(c)
		return
	}
	c.SetReadDeadline(time.Time{})
	f := strings.Fields(strings.TrimPrefix(line, hello+" "))
	if !strings.HasPrefix(line, hello+" ") || len(f) == 0 {
		g.untrack(c)
		return
	}
	switch {
	case f[0] == "control" && len(f) == 1:
		g.serveControl(c)
	case f[0] == "conn" && len(f) >= 3:
		g.deliver(c, f[1], f[2:])
	case f[0] == "dial" && len(f) == 2:
		g.serveDial(c, f[1])
	case f[0] == "ports" && len(f) == 1:
		g.servePorts(c)
	default:
		g.untrack(c)
	}
}

// serveControl keeps a control connection until it ends, passing its port lists to their requests.
func (g *Gateway) serveControl(c net.Conn) {
	ctl := &control{c: c}
	g.mu.Lock()
	if len(g.controls) >= maxControls {
		g.mu.Unlock()
		g.untrack(c)
		return
	}
	g.controls = append(g.controls, ctl)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.controls = slices.DeleteFunc(g.controls, func(x *control) bool { return x == ctl })
		g.mu.Unlock()
		g.untrack(c)
	}()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, maxLine+1), maxLine+1)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || len(f) > 3 || f[0] != "ports" {
			return // a control speaks only in port lists; anything else ends it
		}
		list := ""
		if len(f) == 3 {
			list = f[2]
		}
		ports, ok := parsePorts(list)
		a := answer{ports: ports}
		if !ok {
			a = answer{err: errors.New("a malformed port list")}
		}
		g.answer(f[1], a)
	}
}

// deliver hands a stream the sandbox opened to the request it answers.
func (g *Gateway) deliver(c net.Conn, id string, status []string) {
	a := answer{conn: c}
	if status[0] != "ok" || len(status) != 1 {
		a = answer{err: ErrNotListening}
		if len(status) == 2 && status[1] == "port" {
			a.err = ErrPort
		}
		g.untrack(c)
	}
	if !g.answer(id, a) && a.conn != nil {
		g.untrack(c)
	}
}

// answer passes a to the request id waits on; false when none does.
func (g *Gateway) answer(id string, a answer) bool {
	g.mu.Lock()
	ch, ok := g.pending[id]
	delete(g.pending, id)
	g.mu.Unlock()
	if ok {
		ch <- a // buffered, and each id is answered at most once
	}
	return ok
}

// ask sends a request to ctl and waits for its answer.
func (g *Gateway) ask(ctx context.Context, ctl *control, format string, args ...any) answer {
	id := newID()
	ch := make(chan answer, 1)
	g.mu.Lock()
	if len(g.pending) >= maxPending {
		g.mu.Unlock()
		return answer{err: errors.New("too many previews at once")}
	}
	g.pending[id] = ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.pending, id)
		g.mu.Unlock()
	}()
	if err := ctl.send(format, append([]any{id}, args...)...); err != nil {
		return answer{err: err}
	}
	t := time.NewTimer(answerTimeout)
	defer t.Stop()
	select {
	case a := <-ch:
		return a
	case <-ctx.Done():
		return answer{err: ctx.Err()}
	case <-t.C:
		return answer{err: errors.New("the sandbox did not answer")}
	}
}

func (g *Gateway) snapshot() []*control {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.controls)
}

// Dial opens a stream to port inside the sandbox. The newest control connection is asked first (in
// the local provider each command has its own network namespace; the latest one is likeliest to
// hold the server). The error wraps ErrNoSandbox, ErrNotListening or ErrPort.
func (g *Gateway) Dial(ctx context.Context, port int) (net.Conn, error) {
	if port < 1 || port > 65535 || slices.Contains(g.exclude, port) {
		return nil, ErrPort
	}
	ctls := g.snapshot()
	if len(ctls) == 0 {
		return nil, ErrNoSandbox
	}
	err := ErrNotListening
	for i := len(ctls) - 1; i >= 0; i-- {
		a := g.ask(ctx, ctls[i], "dial %s %d\n", port)
		if a.err == nil {
			return a.conn, nil
		}
		if !errors.Is(a.err, ErrNotListening) {
			err = a.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, err
}

// Ports lists the ports something listens on inside the sandbox, sorted, without the excluded ones.
func (g *Gateway) Ports(ctx context.Context) ([]int, error) {
	var all []int
	for _, ctl := range g.snapshot() {
		a := g.ask(ctx, ctl, "ports %s\n")
		if a.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // that process may have just ended
		}
		all = append(all, a.ports...)
	}
	all = slices.DeleteFunc(all, func(p int) bool { return slices.Contains(g.exclude, p) })
	slices.Sort(all)
	return slices.Compact(all), nil
}

// serveDial answers a client's "dial PORT": "ok" and the stream, or "err REASON".
func (g *Gateway) serveDial(c net.Conn, p string) {
	port, ok := parsePort(p)
	if !ok {
		fmt.Fprintf(c, "err port\n")
		g.untrack(c)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := g.Dial(ctx, port)
	cancel()
	if err != nil {
		fmt.Fprintf(c, "err %s\n", errorWord(err))
		g.untrack(c)
		return
	}
	if _, err := fmt.Fprintf(c, "ok\n"); err != nil {
		g.untrack(c)
		g.untrack(up)
		return
	}
	egress.Join(c, up)
	g.untrack(c)
	g.untrack(up)
}

// servePorts answers a client's "ports".
func (g *Gateway) servePorts(c net.Conn) {
	defer g.untrack(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ports, err := g.Ports(ctx)
	if err != nil {
		fmt.Fprintf(c, "err %s\n", errorWord(err))
		return
	}
	fmt.Fprintf(c, "ports %s\n", formatPorts(ports))
}
