package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Resolver looks up a host name's addresses; *net.Resolver is one. network is "ip".
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

const (
	attemptTimeout = 10 * time.Second // one TCP connect
	maxAttempts    = 4                // addresses tried per connection
)

// deniedError is a connection the rules or the address checks refused. Its message is the
// one-line reason.
type deniedError struct{ reason string }

func (e *deniedError) Error() string { return e.reason }

// dialer connects to destinations the rules allow, and only to addresses it has vetted.
type dialer struct {
	rules    Rules
	resolver Resolver
	// hostAddrs lists the host's own addresses, refused like loopback.
	hostAddrs func() ([]netip.Addr, error)
	log       *slog.Logger
}

// dial checks host and port against the rules, resolves an allowed name once, vets its addresses
// (unless an endpoint allowed it) and connects to the first vetted address that answers. A
// refusal is a *deniedError; anything else is a failure to reach an allowed destination.
func (d *dialer) dial(ctx context.Context, host string, port uint16) (net.Conn, error) {
	v := d.rules.Check(host, port)
	if !v.Allow {
		return nil, &deniedError{v.Reason}
	}
	addrs := []netip.Addr{v.IP}
	if !v.IP.IsValid() {
		found, err := d.resolver.LookupNetIP(ctx, "ip", v.Host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", v.Host, err)
		}
		addrs = addrs[:0]
		for _, a := range found {
			if a = a.Unmap(); !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", v.Host)
		}
	}
	if !v.Endpoint {
		var err error
		if addrs, err = d.vet(v, addrs); err != nil {
			return nil, err
		}
	}
	var nd net.Dialer
	var errs []error
	for _, a := range addrs[:min(len(addrs), maxAttempts)] {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		c, err := nd.DialContext(actx, "tcp", netip.AddrPortFrom(a, port).String())
		cancel()
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("connect %s: %w", net.JoinHostPort(v.Host, fmt.Sprint(port)), errors.Join(errs...))
}

// dialContext is dial for an http.Transport: addr is "host:port".
func (d *dialer) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := parsePort(p)
	if err != nil {
		return nil, err
	}
	return d.dial(ctx, host, port)
}

// vet returns the addresses of v that a domain may lead to, or a *deniedError naming every
// address refused when none is left.
func (d *dialer) vet(v Verdict, addrs []netip.Addr) ([]netip.Addr, error) {
	own, err := d.hostAddrs()
	if err != nil {
		return nil, fmt.Errorf("list this host's addresses: %w", err)
	}
	var kept []netip.Addr
	var refused, whys []string
	for _, a := range addrs {
		why := addrRefusal(a)
		if why == "" && slices.Contains(own, a) {
			why = "an address of this host"
		}
		if why == "" {
			kept = append(kept, a)
			continue
		}
		refused = append(refused, a.String()+" ("+why+")")
		whys = append(whys, why)
	}
	switch {
	case len(kept) == 0 && v.IP.IsValid():
		return nil, &deniedError{fmt.Sprintf("%s is %s; only an operator's endpoint may reach it", v.Host, whys[0])}
	case len(kept) == 0:
		return nil, &deniedError{fmt.Sprintf("%s resolved to %s; only an operator's endpoint may reach such an address",
			v.Host, strings.Join(refused, ", "))}
	case len(refused) > 0:
		d.log.Warn("egress: dropped refused addresses of an allowed name", "host", v.Host, "refused", refused)
	}
	return kept, nil
}

// interfaceAddrs lists the addresses of the host's network interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, ia := range ifAddrs {
		if n, ok := ia.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(n.IP); ok {
				addrs = append(addrs, a.Unmap())
			}
		}
	}
	return addrs, nil
}
