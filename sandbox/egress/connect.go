package egress

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// connect serves "CONNECT host:port": it dials the destination through the rules and address
// checks, answers 200, and then relays bytes both ways until both directions have ended (or
// Close). A refusal answers 403, an unreachable destination 502, both before any tunnel exists.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := splitTarget(r.URL.Host, 0)
	if err != nil {
		http.Error(w, "CONNECT needs host:port: "+err.Error(), http.StatusBadRequest)
		return
	}
	dest := target(host, port)
	ctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	upstream, err := p.dialer.dial(ctx, host, port)
	cancel()
	if err != nil {
		p.fail(w, r, dest, err)
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		p.log.Error("egress: hijack", "target", dest, "err", err)
		http.Error(w, "cannot open a tunnel on this connection", http.StatusInternalServerError)
		return
	}
	t := &tunnel{client: client, upstream: upstream, closeClient: client.Close}
	if lc, ok := client.(*limitedConn); ok {
		t.client = lc.Conn
	}
	if !p.track(t) {
		t.close()
		return
	}
	defer p.untrack(t)
	p.log.Debug("egress: tunnel open", "target", dest)

	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		t.close()
		return
	}
	// A client may send its first bytes (a TLS ClientHello) without waiting for the 200; the
	// server's reader may hold them.
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		if _, err := upstream.Write(early); err != nil {
			t.close()
			return
		}
	}
	up, down := t.relay()
	p.log.Debug("egress: tunnel closed", "target", dest, "sent", up, "received", down)
}

// Join copies a to b and b to a until both directions end, as a CONNECT tunnel does (half-closes
// passed on, an error in either direction ends both), then closes both. The in-sandbox relay joins
// its clients to the proxy socket with it.
func Join(a, b net.Conn) (aToB, bToA int64) {
	t := &tunnel{client: a, upstream: b, closeClient: a.Close}
	return t.relay()
}

// tunnel is an open CONNECT: the client's connection and the destination's.
type tunnel struct {
	// client is the connection as the listener made it (a *net.UnixConn in production), for
	// copying; closeClient closes the connection as the server accepted it.
	client, upstream net.Conn
	closeClient      func() error
	closeOnce        sync.Once
}

// close ends both connections; relay then returns promptly. Safe to call more than once and
// concurrently.
func (t *tunnel) close() {
	t.closeOnce.Do(func() {
		t.closeClient()
		t.upstream.Close()
	})
}

// relay copies client to upstream and upstream to client until both directions end, then closes
// both connections. A direction that ends cleanly (EOF) half-closes its destination's write side
// so the other direction carries on; an error in either ends both. The copies use the
// connections' own ReadFrom/WriteTo, which splice between TCP and unix sockets on Linux without
// copying through user space.
func (t *tunnel) relay() (sent, received int64) {
	done := make(chan int64, 1)
	go func() { done <- t.pipe(t.upstream, t.client) }()
	received = t.pipe(t.client, t.upstream)
	sent = <-done
	t.close()
	return sent, received
}

func (t *tunnel) pipe(dst, src net.Conn) int64 {
	n, err := io.Copy(dst, src)
	if err != nil {
		t.close()
		return n
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() != nil {
			t.close()
		}
	}
	return n
}

// Relay accepts connections on l until it is closed and joins each to a new connection to the unix
// socket: how a sandbox without a network reaches its task's proxy (an in-sandbox listener on
// loopback, the proxy's socket mounted in). A connection the socket refuses is closed.
func Relay(l net.Listener, socket string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			p, err := net.Dial("unix", socket)
			if err != nil {
				c.Close()
				return
			}
			Join(c, p)
		}()
	}
}
