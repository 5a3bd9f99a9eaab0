//go:build linux

package local

import (
	"context"
	"os"
	"strconv"
	"sync"

	"github.com/sesame-works/sesame/sandbox/confine/audit"
)

// denials routes the kernel's Landlock denials (read from its audit log, which only root may read)
// to the sandbox whose process was refused, as filesystem violations. A denial names the process
// that made the Landlock domain (the command of a secured Exec): its ancestors lead to the
// bubblewrap process of that Exec.
type denials struct {
	once    sync.Once
	mu      sync.Mutex
	leaders map[int]*Sandbox    // bubblewrap's pid, per secured Exec that ran in a sandbox still alive
	domains map[string]*Sandbox // Landlock domain → sandbox, once found
}

// watch starts reading denials, once per provider, when Sesame runs as root.
func (d *denials) watch(log func(msg string, args ...any)) {
	d.once.Do(func() {
		d.leaders = map[int]*Sandbox{}
		d.domains = map[string]*Sandbox{}
		if os.Geteuid() != 0 {
			log("file access violations are not reported: reading the kernel's audit log needs root")
			return
		}
		go func() {
			if err := audit.Watch(context.Background(), d.route); err != nil {
				log("file access violations are not reported", "err", err)
			}
		}()
	})
}

// add makes denials of the processes under leader s's.
func (d *denials) add(leader int, s *Sandbox) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leaders != nil {
		d.leaders[leader] = s
	}
}

// forget drops everything of s (at Destroy: its last denials have long been read by then).
func (d *denials) forget(s *Sandbox) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for pid, x := range d.leaders {
		if x == s {
			delete(d.leaders, pid)
		}
	}
	for dom, x := range d.domains {
		if x == s {
			delete(d.domains, dom)
		}
	}
}

func (d *denials) route(den audit.Denial) {
	if den.Path == "" {
		// Not a file access: Landlock also scopes ptrace to the domain, and tools that read
		// /proc/PID of the sandbox's init (outside the domain) are refused; that is no violation
		// of anything a user set, and names no file.
		return
	}
	d.mu.Lock()
	s := d.domains[den.Domain]
	if s == nil {
		for _, pid := range []int{den.DomainPid, den.Pid} {
			if s = d.sandboxOf(pid); s != nil {
				d.domains[den.Domain] = s
				break
			}
		}
	}
	d.mu.Unlock()
	if s != nil && s.spec.OnViolation != nil {
		s.spec.OnViolation(den.Violation())
	}
}

// sandboxOf walks up pid's parents to an Exec's bubblewrap. The caller holds d.mu.
func (d *denials) sandboxOf(pid int) *Sandbox {
	for n := 0; pid > 1 && n < 64; n++ {
		if s := d.leaders[pid]; s != nil {
			return s
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return nil
		}
		_, ppid, _, _, ok := parseStat(b)
		if !ok {
			return nil
		}
		pid = ppid
	}
	return nil
}
