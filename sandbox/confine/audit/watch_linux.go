//go:build linux

package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Watch calls fn with each Landlock denial the kernel logs, until ctx ends; it then returns nil.
// fn runs on Watch's goroutine, one denial at a time, and should not block for long (the kernel
// drops records a slow reader leaves in the socket).
//
// It reads the kernel's audit records directly (the audit netlink socket's read-only multicast
// group), beside a running auditd or without one, so it needs CAP_AUDIT_READ, in practice root in
// the initial user and network namespaces. If auditing is off (as it is when no auditd turned it
// on), the kernel logs nothing, so Watch turns it on, which needs CAP_AUDIT_CONTROL, and leaves it
// on when it returns: another Watch (another Sesame worker on the host) may still rely on it. It
// changes nothing else: an auditd's rules, backlog and registration stay as they are. While
// auditing is on without an auditd, the kernel also prints each record to its log (rate-limited).
// Several Watches may run at once; each gets every record.
//
// Watch returns an error at once when it cannot read the log, saying why.
func Watch(ctx context.Context, fn func(Denial)) error {
	mon, err := openMonitor()
	if err != nil {
		return err
	}
	defer mon.Close()

	enabled, err := auditEnabled()
	if err != nil {
		return err
	}
	if enabled == 0 {
		if err := setAuditEnabled(1); err != nil {
			return fmt.Errorf("audit is off and turning it on failed (needs CAP_AUDIT_CONTROL): %w", err)
		}
	}

	stop := context.AfterFunc(ctx, func() { mon.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	asm := newAssembler()
	buf := make([]byte, 1<<16)
	for {
		// Wake up to finish events that will get no EOE record.
		var deadline time.Time
		if asm.waiting() {
			deadline = time.Now().Add(eventWithoutEOEWait)
		}
		mon.SetReadDeadline(deadline)
		// Checked after setting the deadline: a cancel from now on runs the AfterFunc, whose past
		// deadline then wins.
		if ctx.Err() != nil {
			return nil
		}
		n, err := mon.Read(buf)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, unix.ENOBUFS):
			// The socket overflowed and the kernel dropped records; carry on with the next ones.
		case err != nil:
			return fmt.Errorf("read audit records: %w", err)
		default:
			for _, m := range splitMessages(buf[:n]) {
				for _, d := range asm.add(int(m.typ), string(m.data), time.Now()) {
					fn(d)
				}
			}
		}
		for _, d := range asm.flush(time.Now()) {
			fn(d)
		}
	}
}

// openMonitor opens an audit netlink socket that receives every record the kernel logs
// (AUDIT_NLGRP_READLOG), as a non-blocking os.File so that reads can be woken.
func openMonitor() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("open audit netlink socket: %w", err)
	}
	// A bigger buffer than the default so that a burst of denials is not dropped (root may go past
	// net.core.rmem_max).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (unix.AUDIT_NLGRP_READLOG - 1)}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("reading the kernel's audit log needs CAP_AUDIT_READ (root) in the initial user namespace: %w", err)
		}
		return nil, fmt.Errorf("join the audit log's multicast group: %w", err)
	}
	return os.NewFile(uintptr(fd), "audit-netlink"), nil
}

// auditStatus is struct audit_status, the payload of AUDIT_GET and AUDIT_SET.
type auditStatus struct {
	Mask, Enabled, Failure, Pid, RateLimit, BacklogLimit, Lost, Backlog, FeatureBitmap,
	BacklogWaitTime, BacklogWaitTimeActual uint32
}

// auditEnabled asks the kernel whether auditing is on: 0 off, 1 on, 2 on and locked.
func auditEnabled() (uint32, error) {
	reply, err := request(unix.AUDIT_GET, nil)
	if err != nil {
		return 0, fmt.Errorf("audit status (AUDIT_GET, needs CAP_AUDIT_CONTROL): %w", err)
	}
	if len(reply) < 8 { // mask, enabled
		return 0, fmt.Errorf("audit status (AUDIT_GET): a %d-byte answer", len(reply))
	}
	return binary.NativeEndian.Uint32(reply[4:8]), nil
}

// setAuditEnabled turns auditing on (1) or off (0), and nothing else.
func setAuditEnabled(v uint32) error {
	s := auditStatus{Mask: unix.AUDIT_STATUS_ENABLED, Enabled: v}
	b, err := binary.Append(nil, binary.NativeEndian, s)
	if err != nil {
		return err
	}
	_, err = request(unix.AUDIT_SET, b)
	return err
}

// request sends one request to the kernel's audit socket and returns the payload of its answer of
// the same type (none for AUDIT_SET, which is only acknowledged).
func request(typ uint16, payload []byte) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, err
	}
	const seq = 1
	msg := binary.NativeEndian.AppendUint32(nil, uint32(unix.SizeofNlMsghdr+len(payload)))
	msg = binary.NativeEndian.AppendUint16(msg, typ)
	msg = binary.NativeEndian.AppendUint16(msg, unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	msg = binary.NativeEndian.AppendUint32(msg, seq)
	msg = binary.NativeEndian.AppendUint32(msg, 0)
	msg = append(msg, payload...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var answer []byte
	buf := make([]byte, 1<<16)
	for acked := false; !acked || (typ == unix.AUDIT_GET && answer == nil); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		for _, m := range splitMessages(buf[:n]) {
			switch {
			case m.seq != seq:
			case m.typ == unix.NLMSG_ERROR:
				if len(m.data) < 4 {
					return nil, errors.New("short netlink error message")
				}
				if e := int32(binary.NativeEndian.Uint32(m.data)); e != 0 {
					return nil, unix.Errno(-e)
				}
				acked = true
			case m.typ == typ:
				answer = append([]byte(nil), m.data...)
			}
		}
	}
	return answer, nil
}

type nlMessage struct {
	typ  uint16
	seq  uint32
	data []byte
}

// splitMessages splits a netlink datagram into its messages.
func splitMessages(b []byte) []nlMessage {
	var out []nlMessage
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l < unix.SizeofNlMsghdr || l > len(b) {
			// Audit records are known to carry a length that does not count every byte; take what
			// is there.
			l = len(b)
		}
		out = append(out, nlMessage{
			typ:  binary.NativeEndian.Uint16(b[4:6]),
			seq:  binary.NativeEndian.Uint32(b[8:12]),
			data: b[unix.SizeofNlMsghdr:l],
		})
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
	}
	return out
}
