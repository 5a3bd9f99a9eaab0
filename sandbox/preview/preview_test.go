package preview_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox/preview"
)

// The tests run both ends in this process: the gateway as the runner runs it, Serve as a sandbox's
// init runs it (here in the host's network namespace, which is what Serve sees of any namespace).

func gateway(t *testing.T, exclude ...int) (*preview.Gateway, string) {
	t.Helper()
	// A deep folder: the socket's path is longer than a socket address holds.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g, err := preview.Listen(filepath.Join(dir, "preview.sock"), exclude...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, g.Path()
}

// serve runs the sandbox's end until the test ends.
func serve(t *testing.T, socket string, exclude ...int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); preview.Serve(ctx, socket, exclude...) }()
	t.Cleanup(func() { cancel(); <-done })
}

// devServer is an HTTP server on a loopback port, standing in for the agent's dev server.
func devServer(t *testing.T, body string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", body, r.URL.Path)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func waitPorts(t *testing.T, socket string, want int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ports, err := preview.Ports(context.Background(), socket)
		if err == nil && slices.Contains(ports, want) {
			return ports
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d never listed: %v %v", want, ports, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, c net.Conn, path string) string {
	t.Helper()
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestDialReachesTheSandboxsPort(t *testing.T) {
	g, socket := gateway(t)
	serve(t, socket)
	port := devServer(t, "hello from the sandbox")

	ports := waitPorts(t, socket, port)
	if inProc, err := g.Ports(context.Background()); err != nil || !slices.Equal(inProc, ports) {
		t.Errorf("Gateway.Ports = %v, %v; the client saw %v", inProc, err, ports)
	}
	c, err := preview.Dial(context.Background(), socket, port)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "/index.html"); got != "hello from the sandbox /index.html" {
		t.Errorf("through the preview: %q", got)
	}
	// And from the runner's side, without the socket.
	c, err = g.Dial(context.Background(), port)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "/x"); got != "hello from the sandbox /x" {
		t.Errorf("through the gateway: %q", got)
	}
}

func TestDialRefusals(t *testing.T) {
	relay := devServer(t, "the egress proxy relay")
	_, socket := gateway(t, relay)

	// No process in the sandbox yet.
	if _, err := preview.Dial(context.Background(), socket, relay+1); !errors.Is(err, preview.ErrNoSandbox) {
		t.Errorf("dial with nothing serving: %v, want ErrNoSandbox", err)
	}
	serve(t, socket, relay)
	waitControl(t, socket)

	// The proxy relay is never a preview, even though something listens there.
	if _, err := preview.Dial(context.Background(), socket, relay); !errors.Is(err, preview.ErrPort) {
		t.Errorf("dial the relay: %v, want ErrPort", err)
	}
	if ports, _ := preview.Ports(context.Background(), socket); slices.Contains(ports, relay) {
		t.Errorf("the relay is listed: %v", ports)
	}
	closed := closedPort(t)
	if _, err := preview.Dial(context.Background(), socket, closed); !errors.Is(err, preview.ErrNotListening) {
		t.Errorf("dial a closed port: %v, want ErrNotListening", err)
	}
	for _, bad := range []int{0, -1, 65536} {
		if _, err := preview.Dial(context.Background(), socket, bad); !errors.Is(err, preview.ErrPort) {
			t.Errorf("dial port %d: %v, want ErrPort", bad, err)
		}
	}
	// No gateway at all: the sandbox is gone.
	if _, err := preview.Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"), 80); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dial without a gateway: %v, want os.ErrNotExist", err)
	}
}

// waitControl waits until the sandbox's end is connected (a dial no longer says no sandbox).
func waitControl(t *testing.T, socket string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := preview.Dial(context.Background(), socket, closedPort(t))
		if !errors.Is(err, preview.ErrNoSandbox) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandbox's end never connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// A process in the sandbox can connect to the gateway too. Whatever it sends, it gets no stream it
// did not already have, cannot answer another request, and cannot wedge the gateway.
func TestHostileSandboxProcess(t *testing.T) {
	_, socket := gateway(t)
	serve(t, socket)
	port := devServer(t, "real")
	waitPorts(t, socket, port)

	raw := func() net.Conn {
		d := net.Dialer{}
		dir, _ := os.Open(filepath.Dir(socket))
		defer dir.Close()
		c, err := d.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(socket)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Connections that never introduce themselves, more than the gateway holds.
	var idle []net.Conn
	for range 64 {
		idle = append(idle, raw())
	}
	// Lines that are too long, garbage, or a made-up answer to a request that does not exist.
	for _, junk := range []string{strings.Repeat("x", 500) + "\n", "GET / HTTP/1.1\n", "sesame-preview conn 00 ok\nhijack",
		"sesame-preview control\nports deadbeef 1,2,3\nrm -rf /\n", "sesame-preview dial 99999\n"} {
		c := raw()
		fmt.Fprint(c, junk)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		if strings.Contains(string(b), "real") {
			t.Errorf("%q got the dev server's content: %q", junk, b)
		}
	}
	for _, c := range idle {
		c.Close()
	}
	// The real preview still works.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := preview.Dial(context.Background(), socket, port)
		if err == nil {
			if got := get(t, c, "/"); got != "real /" {
				t.Errorf("after the junk: %q", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway no longer serves: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Closing the gateway ends the previews running through it.
func TestCloseEndsPreviews(t *testing.T) {
	g, socket := gateway(t)
	serve(t, socket)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c) // echo, forever
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	waitPorts(t, socket, port)
	c, err := preview.Dial(context.Background(), socket, port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "ping\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo: %q %v", line, err)
	}
	g.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the preview outlived its gateway: %v", err)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is still there: %v", err)
	}
}

func TestListeningPortsIncludesOurs(t *testing.T) {
	port := devServer(t, "x")
	if !slices.Contains(preview.ListeningPorts(), port) {
		t.Errorf("ListeningPorts misses %d: %v", port, preview.ListeningPorts())
	}
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("no IPv6 loopback here (%v): only the IPv4 case was checked", err)
		return
	}
	defer l.Close()
	if p := l.Addr().(*net.TCPAddr).Port; !slices.Contains(preview.ListeningPorts(), p) {
		t.Errorf("ListeningPorts misses [::1]:%s", strconv.Itoa(p))
	}
}
