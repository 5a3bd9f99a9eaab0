package egress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

const benchSize = 100 << 20

// BenchmarkProxyThroughput downloads 100 MB from a 127.0.0.1 HTTP server directly, through a
// CONNECT tunnel over the proxy's unix socket, and as a forwarded plain HTTP request, and
// reports each rate in MB/s and the tunnel's as a fraction of the direct one.
func BenchmarkProxyThroughput(b *testing.B) {
	chunk := make([]byte, 1<<20)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(benchSize))
		for range benchSize / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer upstream.Close()
	addr := upstream.Listener.Addr().String()
	tp := startProxy(b, Rules{Endpoints: []string{addr}}, nil)

	clients := []struct {
		name   string
		client *http.Client
	}{
		{"direct", &http.Client{Transport: &http.Transport{ReadBufferSize: 256 << 10}}},
		{"tunnel", tunnelClient(tp.sock)},
		{"forward", forwardClient(tp.sock)},
	}
	elapsed := make([]time.Duration, len(clients))
	buf := make([]byte, 1<<20)
	b.ResetTimer()
	for b.Loop() {
		for i, c := range clients {
			start := time.Now()
			resp, err := c.client.Get("http://" + addr + "/")
			if err != nil {
				b.Fatalf("%s: %v", c.name, err)
			}
			n, err := io.CopyBuffer(writerOnly{io.Discard}, resp.Body, buf)
			resp.Body.Close()
			if err != nil || n != benchSize {
				b.Fatalf("%s: read %d bytes: %v", c.name, n, err)
			}
			elapsed[i] += time.Since(start)
		}
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(benchSize) * float64(b.N) / 1e6 / d.Seconds() }
	for i, c := range clients {
		b.ReportMetric(rate(elapsed[i]), c.name+"-MB/s")
		c.client.CloseIdleConnections()
	}
	b.ReportMetric(rate(elapsed[1])/rate(elapsed[0]), "tunnel/direct")
	b.ReportMetric(rate(elapsed[2])/rate(elapsed[0]), "forward/direct")
}

// writerOnly hides io.Discard's ReadFrom so that every client reads with the same 1 MiB buffer.
type writerOnly struct{ io.Writer }
