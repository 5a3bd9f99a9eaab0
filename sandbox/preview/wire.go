package preview

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// hello starts every line a connection introduces itself with.
	hello = "sesame-preview"
	// maxLine bounds every line of the protocol.
	maxLine = 128
	// introTimeout is how long a new connection has to introduce itself.
	introTimeout = 5 * time.Second
)

// Errors a Dial reports; a web page turns them into words.
var (
	// ErrNoSandbox: nothing runs in the sandbox that could reach a port (no process, or the
	// sandbox does not support previews).
	ErrNoSandbox = errors.New("no process in the sandbox can reach its ports")
	// ErrNotListening: nothing listens on that port in the sandbox.
	ErrNotListening = errors.New("nothing listens on that port in the sandbox")
	// ErrPort: the port is not one a preview may reach.
	ErrPort = errors.New("not a port a preview may reach")
)

// readLine reads one line of at most maxLine bytes, byte by byte so that nothing after it is
// consumed (raw bytes may follow).
func readLine(r io.Reader) (string, error) {
	var b [1]byte
	line := make([]byte, 0, 64)
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		if len(line) == maxLine {
			return "", errors.New("preview: line too long")
		}
		line = append(line, b[0])
	}
}

// parsePort reads a TCP port number, 1-65535.
func parsePort(s string) (int, bool) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != s {
		return 0, false
	}
	return p, true
}

// formatPorts and parsePorts carry a port list as "P1,P2".
func formatPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

func parsePorts(s string) ([]int, bool) {
	if s == "" {
		return nil, true
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		p, ok := parsePort(f)
		if !ok {
			return nil, false
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), true
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dialUnix connects to the unix socket at path, through its folder's descriptor so that a path
// longer than a socket address holds still works.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	var d net.Dialer
	return d.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
}

// Dial asks the gateway listening at socket for a stream to port inside its sandbox. The error
// wraps ErrNoSandbox, ErrNotListening or ErrPort when the gateway said so; os.ErrNotExist when no
// gateway listens there (the task's sandbox is gone, or lives on another host).
func Dial(ctx context.Context, socket string, port int) (net.Conn, error) {
	c, err := dialUnix(ctx, socket)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errConnRefused) {
			return nil, fmt.Errorf("preview: %w", os.ErrNotExist)
		}
		return nil, fmt.Errorf("preview: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(deadline(ctx, 15*time.Second))
	if _, err := fmt.Fprintf(c, "%s dial %d\n", hello, port); err != nil {
		c.Close()
		return nil, fmt.Errorf("preview: %w", err)
	}
	line, err := readLine(c)
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("preview: %w", ctx.Err())
		}
		return nil, fmt.Errorf("preview: %w", err)
	}
	if line != "ok" {
		c.Close()
		return nil, fmt.Errorf("preview: port %d: %w", port, remoteError(line))
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// Ports asks the gateway listening at socket which ports something listens on in its sandbox.
func Ports(ctx context.Context, socket string) ([]int, error) {
	c, err := dialUnix(ctx, socket)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errConnRefused) {
			return nil, fmt.Errorf("preview: %w", os.ErrNotExist)
		}
		return nil, fmt.Errorf("preview: %w", err)
	}
	defer c.Close()
	c.SetDeadline(deadline(ctx, 10*time.Second))
	if _, err := fmt.Fprintf(c, "%s ports\n", hello); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	line, err := readLine(c)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	list, ok := strings.CutPrefix(line, "ports ")
	if line == "ports" {
		list, ok = "", true
	}
	if !ok {
		return nil, fmt.Errorf("preview: %w", remoteError(line))
	}
	ports, ok := parsePorts(list)
	if !ok {
		return nil, errors.New("preview: a malformed port list")
	}
	return ports, nil
}

// remoteError turns the gateway's "err REASON" line back into an error.
func remoteError(line string) error {
	switch strings.TrimPrefix(line, "err ") {
	case "no-sandbox":
		return ErrNoSandbox
	case "not-listening":
		return ErrNotListening
	case "port":
		return ErrPort
	}
	return fmt.Errorf("the gateway answered %q", line)
}

// errorWord is the word the gateway sends for err.
func errorWord(err error) string {
	switch {
	case errors.Is(err, ErrNoSandbox):
		return "no-sandbox"
	case errors.Is(err, ErrNotListening):
		return "not-listening"
	case errors.Is(err, ErrPort):
		return "port"
	}
	return "failed"
}

func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}
