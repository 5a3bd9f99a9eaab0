package audit

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Audit record types (include/uapi/linux/audit.h).
const (
	typeSyscall         = 1300 // AUDIT_SYSCALL
	typeEOE             = 1320 // AUDIT_EOE: end of a multi-record event
	typeLandlockAccess  = 1423 // AUDIT_LANDLOCK_ACCESS
	typeLandlockDomain  = 1424 // AUDIT_LANDLOCK_DOMAIN
	maxDomains          = 1 << 16
	eventWithoutEOEWait = 250 * time.Millisecond
)

// splitHeader splits a record's text, "audit(1729738800.268:30): domain=...", into its event
// serial and its fields.
func splitHeader(s string) (serial uint64, body string, ok bool) {
	s = strings.TrimRight(s, "\x00\n ")
	rest, ok := strings.CutPrefix(s, "audit(")
	if !ok {
		return 0, "", false
	}
	stamp, body, ok := strings.Cut(rest, "):")
	if !ok {
		return 0, "", false
	}
	_, num, ok := strings.Cut(stamp, ":")
	if !ok {
		return 0, "", false
	}
	serial, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return serial, strings.TrimSpace(body), true
}

// untrusted are the fields the kernel writes with audit_log_untrustedstring: quoted when the
// value is plain printable text, else as bare hex.
var untrusted = map[string]bool{
	"path": true, "name": true, "exe": true, "comm": true, "ocomm": true, "dev": true,
	"cwd": true, "proctitle": true,
}

// parseFields parses `key=value key="quoted value" path=2F746D70...` into a map, decoding
// untrusted fields written as hex. A later duplicate key does not replace an earlier one.
func parseFields(body string) map[string]string {
	f := map[string]string{}
	for len(body) > 0 {
		body = strings.TrimLeft(body, " ")
		key, rest, ok := strings.Cut(body, "=")
		if !ok || key == "" || strings.Contains(key, " ") {
			// Not a key=value pair: skip one word.
			_, body, _ = strings.Cut(body, " ")
			continue
		}
		var val string
		quoted := strings.HasPrefix(rest, `"`)
		if quoted {
			val, body, ok = strings.Cut(rest[1:], `"`)
			if !ok { // unterminated: take the rest
				val, body = rest[1:], ""
			}
		} else {
			val, body, _ = strings.Cut(rest, " ")
		}
		if !quoted && untrusted[key] && len(val)%2 == 0 {
			if b, err := hex.DecodeString(val); err == nil {
				val = string(b)
			}
		}
		if _, dup := f[key]; !dup {
			f[key] = val
		}
	}
	return f
}

// creator is what an AUDIT_LANDLOCK_DOMAIN record says about the process that created a domain.
type creator struct {
	pid       int
	exe, comm string
}

// event is the records of one audit event seen so far.
type event struct {
	first    time.Time
	accesses []map[string]string
	syscall  map[string]string
}

// assembler groups audit records into events by serial and turns each finished event into
// denials. An event ends with its AUDIT_EOE record, or, for one logged without a syscall context
// (which has no EOE), when it is older than eventWithoutEOEWait.
type assembler struct {
	pending map[uint64]*event
	domains map[string]creator
}

func newAssembler() *assembler {
	return &assembler{pending: map[uint64]*event{}, domains: map[string]creator{}}
}

// add takes one record and returns the denials of the event it finished, if any.
func (a *assembler) add(typ int, text string, now time.Time) []Denial {
	serial, body, ok := splitHeader(text)
	if !ok {
		return nil
	}
	switch typ {
	case typeLandlockDomain:
		f := parseFields(body)
		switch f["status"] {
		case "allocated":
			pid, _ := strconv.Atoi(f["pid"])
			if len(a.domains) < maxDomains {
				a.domains[f["domain"]] = creator{pid: pid, exe: f["exe"], comm: f["comm"]}
			}
		case "deallocated":
			delete(a.domains, f["domain"])
		}
	case typeLandlockAccess:
		ev := a.event(serial, now)
		ev.accesses = append(ev.accesses, parseFields(body))
	case typeSyscall:
		// Only events that already have a Landlock record matter; a SYSCALL record comes last
		// but for EOE, after the records logged during the call.
		if ev, ok := a.pending[serial]; ok {
			ev.syscall = parseFields(body)
		}
	case typeEOE:
		if ev, ok := a.pending[serial]; ok {
			delete(a.pending, serial)
			return a.denials(ev)
		}
	}
	return nil
}

func (a *assembler) event(serial uint64, now time.Time) *event {
	ev, ok := a.pending[serial]
	if !ok {
		ev = &event{first: now}
		a.pending[serial] = ev
	}
	return ev
}

// flush finishes the events that have waited long enough for an EOE that will not come.
func (a *assembler) flush(now time.Time) []Denial {
	var out []Denial
	for serial, ev := range a.pending {
		if now.Sub(ev.first) >= eventWithoutEOEWait {
			delete(a.pending, serial)
			out = append(out, a.denials(ev)...)
		}
	}
	return out
}

// waiting reports whether events wait for flush.
func (a *assembler) waiting() bool { return len(a.pending) > 0 }

func (a *assembler) denials(ev *event) []Denial {
	out := make([]Denial, 0, len(ev.accesses))
	for _, acc := range ev.accesses {
		d := Denial{Domain: acc["domain"], Path: acc["path"]}
		if d.Path == "" {
			d.Path = acc["name"]
		}
		if b := acc["blockers"]; b != "" {
			d.Blockers = strings.Split(b, ",")
		}
		c, known := a.domains[d.Domain]
		if known {
			d.DomainPid, d.Pid, d.Exe, d.Comm = c.pid, c.pid, c.exe, c.comm
		}
		if sc := ev.syscall; sc != nil {
			if pid, err := strconv.Atoi(sc["pid"]); err == nil {
				d.Pid = pid
			}
			d.Exe, d.Comm = sc["exe"], sc["comm"]
		}
		out = append(out, d)
	}
	return out
}
