package egress

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// newTransport returns the transport plain HTTP requests go out through: every connection it
// makes goes through d (rules and address checks), it never uses an environment proxy, and it
// passes bodies through untouched (no transparent gzip).
func newTransport(d *dialer) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			return d.dialContext(ctx, network, addr)
		},
		DisableCompression:     true,
		MaxIdleConns:           64,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		ReadBufferSize:         64 << 10,
		WriteBufferSize:        64 << 10,
	}
}

// hopHeaders are the hop-by-hop headers (RFC 9110, section 7.6.1) plus the proxy's own, never
// forwarded in either direction.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes the hop-by-hop headers from h, with those named in its Connection
// header.
func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forward serves an absolute-form request ("GET http://host/path"): the destination is checked
// by the rules before anything is sent and by the address checks when the transport dials; the
// request goes out without hop-by-hop or proxy headers, and the response comes back the same
// way. Only the http scheme is served (HTTPS goes through CONNECT).
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	if r.URL.Scheme != "http" {
		http.Error(w, "only http:// URLs are forwarded; use CONNECT for "+r.URL.Scheme, http.StatusBadRequest)
		return
	}
	host, port, err := splitTarget(r.URL.Host, 80)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	dest := target(host, port)
	if v := p.dialer.rules.Check(host, port); !v.Allow {
		p.fail(w, r, dest, &deniedError{v.Reason})
		return
	}

	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	removeHopHeaders(out.Header)
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.fail(w, r, dest, err)
		return
	}
	defer resp.Body.Close()

	removeHopHeaders(resp.Header)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(buf)
	n, err := io.CopyBuffer(&deadlineWriter{w: w, rc: rc}, resp.Body, *buf)
	rc.SetWriteDeadline(time.Time{})
	if err != nil {
		// Ending the handler normally would end a chunked response cleanly, passing a truncated
		// body off as complete; abort the connection instead.
		p.log.Debug("egress: response cut short", "target", dest, "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// deadlineWriter writes a response body, giving each write its own deadline and flushing after
// it, so a streamed response reaches the client as it comes and a client that stops reading frees
// the request after writeIdleTimeout rather than never.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(writeIdleTimeout))
	n, err := d.w.Write(b)
	if err == nil {
		err = d.rc.Flush()
	}
	return n, err
}
