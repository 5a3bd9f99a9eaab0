package egress

import (
	"net"
	"sync"
)

// maxConns bounds the client connections one proxy holds open at once (tunnels included, each
// also holding a connection to its destination), so that one task cannot exhaust the server's
// file descriptors. Past it, new connections wait in the listener's backlog until one closes.
const maxConns = 1024

// limitListener accepts a connection only when a slot in sem is free; the connection gives it
// back when closed.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

// Close closes the listener, also ending an Accept that waits for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed. A tunnel copies through the Conn it wraps (which
// keeps the kernel's splice path) and closes the limitedConn.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
