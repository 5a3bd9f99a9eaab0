package preview

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-works/sesame/sandbox/egress"
)

// Serve runs inside a sandbox's network namespace, in the process that lives as long as the
// sandbox's command (the provider's init). It connects to the gateway at socket as a control
// connection and answers its requests until ctx ends: it lists the loopback ports something
// listens on, and dials them, never the ports in exclude. When the gateway is not there yet or goes
// away it tries again, backing off to once every few seconds.
func Serve(ctx context.Context, socket string, exclude ...int) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		if served := serveOnce(ctx, socket, exclude); served {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// serveOnce serves one control connection until it ends; it reports whether the gateway answered.
func serveOnce(ctx context.Context, socket string, exclude []int) bool {
	c, err := dialUnix(ctx, socket)
	if err != nil {
		return false
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	ctl := &control{c: c}
	if err := ctl.send("%s control\n", hello); err != nil {
		return false
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, maxLine+1), maxLine+1)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "ports":
			ports := slices.DeleteFunc(ListeningPorts(), func(p int) bool { return slices.Contains(exclude, p) })
			if ctl.send("ports %s %s\n", f[1], formatPorts(ports)) != nil {
				return true
			}
		case len(f) == 3 && f[0] == "dial":
			go dialFor(ctx, socket, f[1], f[2], exclude)
		default:
			return true
		}
	}
	return true
}

// dialFor dials port on the loopback and hands the stream to the gateway as a new connection.
func dialFor(ctx context.Context, socket, id, p string, exclude []int) {
	back, err := dialUnix(ctx, socket)
	if err != nil {
		return
	}
	port, ok := parsePort(p)
	if !ok || slices.Contains(exclude, port) {
		fmt.Fprintf(back, "%s conn %s err port\n", hello, id)
		back.Close()
		return
	}
	up, err := dialLoopback(ctx, port)
	if err != nil {
		fmt.Fprintf(back, "%s conn %s err refused\n", hello, id)
		back.Close()
		return
	}
	if _, err := fmt.Fprintf(back, "%s conn %s ok\n", hello, id); err != nil {
		back.Close()
		up.Close()
		return
	}
	egress.Join(back, up)
}

// dialLoopback connects to port on 127.0.0.1, or on ::1 for a server that listens only there.
func dialLoopback(ctx context.Context, port int) (net.Conn, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		return c, nil
	}
	if c6, err6 := d.DialContext(ctx, "tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err6 == nil {
		return c6, nil
	}
	return nil, err
}

// ListeningPorts is the TCP ports something listens on in this network namespace on a loopback
// or wildcard address, sorted, read from /proc/net/tcp and /proc/net/tcp6.
func ListeningPorts() []int {
	var ports []int
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		ports = append(ports, parseProcNet(string(b))...)
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// parseProcNet reads the listening sockets of one /proc/net/tcp* table: "sl local rem st ...", the
// local address as hex IP (host byte order words) and hex port, st 0A for LISTEN.
func parseProcNet(table string) []int {
	var ports []int
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		ip, port, ok := strings.Cut(f[1], ":")
		if !ok || !reachable(ip) {
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil || p == 0 {
			continue
		}
		ports = append(ports, int(p))
	}
	return ports
}

// reachable says whether a /proc/net address is one a loopback dial reaches: any address, or a
// loopback one (IPv4 127/8 in host byte order on little-endian machines ends in 7F; ::1; ::ffff:127.x).
func reachable(hexIP string) bool {
	switch hexIP {
	case "00000000", "00000000000000000000000000000000", // 0.0.0.0, ::
		"00000000000000000000000001000000": // ::1
		return true
	}
	if len(hexIP) == 8 {
		return strings.HasSuffix(hexIP, "7F") || strings.HasPrefix(hexIP, "7F")
	}
	// ::ffff:127.x.y.z
	return len(hexIP) == 32 && strings.HasPrefix(hexIP, "0000000000000000FFFF0000") &&
		(strings.HasSuffix(hexIP, "7F") || hexIP[24:26] == "7F")
}
