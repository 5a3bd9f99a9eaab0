package egress

import (
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestLimitListener(t *testing.T) {
	inner, err := ListenUnix(filepath.Join(t.TempDir(), "l.sock"))
	if err != nil {
		t.Fatal(err)
	}
	l := &limitListener{Listener: inner, sem: make(chan struct{}, 2), done: make(chan struct{})}
	defer l.Close()
	for range 4 {
		c, err := net.Dial("unix", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	accepted := make(chan net.Conn, 4)
	acceptErr := make(chan error, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			accepted <- c
		}
	}()
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted with two open")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close gives back nothing more
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted after one closed")
	}
	select {
	case <-accepted:
		t.Fatal("a slot was given back twice")
	case <-time.After(100 * time.Millisecond):
	}
	// Close ends an Accept that waits for a slot.
	l.Close()
	select {
	case err := <-acceptErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
	second.Close()
}
