package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
)

const (
	readHeaderTimeout = 10 * time.Second // a client's request line and headers
	idleTimeout       = 2 * time.Minute  // a keep-alive client connection between requests
	writeIdleTimeout  = 2 * time.Minute  // a plain HTTP client that stops reading its response
	dialTimeout       = 30 * time.Second // resolving and connecting, all addresses together
	maxHeaderBytes    = 32 << 10
)

// Options are a Proxy's optional collaborators. The zero value is usable.
type Options struct {
	// OnViolation, when set, is called once for every request the proxy refuses (by a rule or by
	// an address check), with Kind sesame.ViolationNetwork, Target "host:port", Access "connect"
	// and the one-line Reason the client is also sent. It is called from the goroutine serving
	// that request, possibly concurrently, before the 403 is written; it must not block for long.
	OnViolation func(sesame.Violation)
	// Logger receives the proxy's log; nil discards it.
	Logger *slog.Logger
	// Resolver looks up host names; nil means net.DefaultResolver. Each connection resolves its
	// host once, and the proxy dials only addresses from that answer.
	Resolver Resolver
}

// Proxy is one task's egress proxy: an HTTP/1.1 proxy serving CONNECT tunnels and absolute-form
// plain HTTP requests ("GET http://host/path") to the destinations its Rules allow. Anything
// else gets 400 Bad Request. It is safe for concurrent use.
//
// Client connections have bounded headers and a read-header timeout, and a keep-alive connection
// is closed when idle; a tunnel, once open, lasts as long as both its ends do, or until Close.
type Proxy struct {
	dialer    *dialer
	onViolate func(sesame.Violation)
	log       *slog.Logger
	srv       *http.Server
	transport *http.Transport
	bufs      sync.Pool       // *[]byte for copying plain HTTP response bodies
	conns     chan struct{}   // a slot per open client connection, shared by every listener
	ctx       context.Context // ends with Close; every request's context derives from it
	cancel    context.CancelFunc

	mu       sync.Mutex
	closed   bool
	tunnels  map[*tunnel]struct{}
	handlers sync.WaitGroup
}

// New returns a proxy enforcing rules (copied; later changes to the caller's slices do not
// affect it). It serves nothing until [Proxy.Serve].
func New(rules Rules, opts Options) *Proxy {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var resolver Resolver = net.DefaultResolver
	if opts.Resolver != nil {
		resolver = opts.Resolver
	}
	rules = Rules{
		AllowedDomains: slices.Clone(rules.AllowedDomains),
		DeniedDomains:  slices.Clone(rules.DeniedDomains),
		Endpoints:      slices.Clone(rules.Endpoints),
	}
	p := &Proxy{
		dialer:    &dialer{rules: rules, resolver: resolver, hostAddrs: interfaceAddrs, log: log},
		onViolate: opts.OnViolation,
		log:       log,
		tunnels:   make(map[*tunnel]struct{}),
		conns:     make(chan struct{}, maxConns),
	}
	p.bufs.New = func() any { b := make([]byte, 256<<10); return &b }
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.transport = newTransport(p.dialer)
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" is a request for this proxy like any other: 400.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:                  func(net.Listener) context.Context { return p.ctx },
	}
	return p
}

// Serve accepts connections on l until Close, and closes l. It returns nil after Close and the
// listener's error otherwise. It may be called for several listeners; at most maxConns client
// connections are open at once across them, further ones waiting to be accepted.
func (p *Proxy) Serve(l net.Listener) error {
	l = &limitListener{Listener: l, sem: p.conns, done: make(chan struct{})}
	if err := p.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("egress proxy: %w", err)
	}
	return nil
}

// Close stops every listener, ends every request in flight and every open tunnel, and waits for
// their goroutines. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	tunnels := make([]*tunnel, 0, len(p.tunnels))
	for t := range p.tunnels {
		tunnels = append(tunnels, t)
	}
	p.mu.Unlock()

	p.cancel()
	err := p.srv.Close()
	for _, t := range tunnels {
		t.close()
	}
	p.handlers.Wait()
	p.transport.CloseIdleConnections()
	return err
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "the egress proxy is shutting down", http.StatusServiceUnavailable)
		return
	}
	p.handlers.Add(1)
	p.mu.Unlock()
	defer p.handlers.Done()

	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs():
		p.forward(w, r)
	default:
		http.Error(w, "this is an HTTP proxy: send CONNECT host:port or an absolute-form request (GET http://host/...)",
			http.StatusBadRequest)
	}
}

// track registers an open tunnel so that Close ends it; false means the proxy is closed.
func (p *Proxy) track(t *tunnel) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.tunnels[t] = struct{}{}
	return true
}

func (p *Proxy) untrack(t *tunnel) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.tunnels, t)
}

// splitTarget parses a request's "host:port" authority; defaultPort applies when it has no port
// (0: a port is required).
func splitTarget(authority string, defaultPort uint16) (string, uint16, error) {
	host, p, err := net.SplitHostPort(authority)
	if err != nil {
		if defaultPort == 0 {
			return "", 0, fmt.Errorf("%.80q is not host:port", authority)
		}
		return authority, defaultPort, nil
	}
	port, err := parsePort(p)
	return host, port, err
}

// target is how a violation and the log name a destination: its canonical host (quoted when it
// is not a valid host) and port.
func target(host string, port uint16) string {
	name, _, err := canonicalHost(host)
	if err != nil {
		name = fmt.Sprintf("%.80q", host)
	}
	return net.JoinHostPort(name, strconv.Itoa(int(port)))
}

// fail answers a request whose destination could not be dialled: 403 and a violation for a
// refusal, 502 for anything else.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, dest string, err error) {
	var denied *deniedError
	if !errors.As(err, &denied) {
		p.log.Info("egress: destination unreachable", "target", dest, "err", err)
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("could not reach %s: %v", dest, oneLine(err)), http.StatusBadGateway)
		return
	}
	p.log.Warn("egress: refused", "target", dest, "method", r.Method, "reason", denied.reason)
	if p.onViolate != nil {
		p.onViolate(sesame.Violation{
			Kind:   sesame.ViolationNetwork,
			Target: dest,
			Access: "connect",
			Reason: denied.reason,
		})
	}
	if r.Method == http.MethodConnect {
		w.Header().Set("Connection", "close")
	}
	http.Error(w, denied.reason, http.StatusForbidden)
}

// oneLine flattens err's message to one line (errors.Join separates with newlines).
func oneLine(err error) string {
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ';'
		}
	}
	return string(b)
}
