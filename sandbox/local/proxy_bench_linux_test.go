//go:build linux

package local_test

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"

	"github.com/sesame-works/sesame/sandbox"
)

// BenchmarkSandboxDownload downloads 100 MB with curl from a server on 127.0.0.1: "direct" on the
// host, "sandboxed" from inside a secured sandbox, where it goes through the in-sandbox relay and
// the task's egress proxy (the server is the task's configured endpoint). MB/s for each; the ratio
// is what the walls cost a download.
//
// Run with: go test ./sandbox/local -run '^$' -bench SandboxDownload -benchtime 5x
func BenchmarkSandboxDownload(b *testing.B) {
	const size = 100 << 20
	chunk := bytes.Repeat([]byte("sesame-egress-bench-"), 1<<14)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
				return
			}
		}
	})}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	url := "http://" + l.Addr().String() + "/blob"
	curl := []string{"curl", "-sS", "-f", "-o", "/dev/null", url}

	b.Run("direct", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if out, err := exec.Command(curl[0], curl[1:]...).CombinedOutput(); err != nil {
				b.Fatalf("curl: %v: %s", err, out)
			}
		}
	})
	b.Run("sandboxed", func(b *testing.B) {
		s := newBenchSandbox(b, sandbox.Policy{Enabled: true, Endpoints: []string{l.Addr().String()}})
		b.SetBytes(size)
		for b.Loop() {
			var out bytes.Buffer
			if code, err := s.Exec(b.Context(), sandbox.ExecRequest{Argv: curl, Stdout: &out, Stderr: &out}); code != 0 || err != nil {
				b.Fatalf("curl in the sandbox: %d, %v: %s", code, err, out.String())
			}
		}
	})
}
