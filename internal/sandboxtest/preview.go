package sandboxtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/preview"
)

// Preview checks a provider's previews: a server a command starts on a loopback port inside the
// sandbox is listed by the task's preview gateway and reached through it, while a port the host
// itself listens on is not reachable through it; when the command ends, so does the preview. Run it
// for the providers and policies that support previews (see sandbox.Spec.PreviewSocket).
func Preview(t *testing.T, create CreateFunc) {
	spec := newSpec(t, nil)
	gw, err := preview.Listen(filepath.Join(spec.TaskDir, "preview.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	spec.PreviewSocket = gw.Path()
	sb := mustCreate(t, create, spec)

	token := randomHex(t)
	if err := os.WriteFile(filepath.Join(spec.Workspace, "index.html"), []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(spec.Workspace, "index.html"), 0o644)
	// A port of the host's own loopback: the preview must not reach it.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\n\r\nthe host's own service")
			c.Close()
		}
	}()
	hostPort := host.Addr().(*net.TCPAddr).Port

	port := 20000 + rand.IntN(20000)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		_, _, errOut, err := run(ctx, sb, sandbox.ExecRequest{Argv: []string{"busybox", "httpd", "-f", "-p", "127.0.0.1:" + strconv.Itoa(port), "-h", sb.Workspace()}})
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w; stderr %q", err, errOut)
		}
		served <- err
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		ports, err := gw.Ports(t.Context())
		if err == nil && slices.Contains(ports, port) {
			if slices.Contains(ports, hostPort) {
				t.Errorf("the host's own port %d is listed among the sandbox's: %v", hostPort, ports)
			}
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("port %d never listed: %v, %v (server: %v)", port, ports, err, <-served)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := fetch(t, spec.PreviewSocket, port); got != token {
		t.Errorf("through the preview: %q, want the workspace's page %q", got, token)
	}
	if _, err := preview.Dial(t.Context(), spec.PreviewSocket, hostPort); !errors.Is(err, preview.ErrNotListening) {
		t.Errorf("dial the host's own port %d: %v, want ErrNotListening", hostPort, err)
	}
	cancel()
	<-served
	deadline = time.Now().Add(15 * time.Second)
	for {
		_, err := preview.Dial(t.Context(), spec.PreviewSocket, port)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the preview outlived the command that served it")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fetch GETs /index.html on port through the preview socket.
func fetch(t *testing.T, socket string, port int) string {
	t.Helper()
	c, err := preview.Dial(t.Context(), socket, port)
	if err != nil {
		t.Fatalf("preview dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("preview response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
