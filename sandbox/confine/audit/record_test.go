package audit

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	sesame "github.com/sesame-works/sesame"
)

func TestSplitHeader(t *testing.T) {
	tests := []struct {
		name, in   string
		wantSerial uint64
		wantBody   string
		wantOK     bool
	}{
		{"record", `audit(1729738800.268:30): domain=1a6fdc66f blockers=scope.signal`, 30, "domain=1a6fdc66f blockers=scope.signal", true},
		{"event end", "audit(1796086482.915:18): \x00", 18, "", true},
		{"no header", "domain=1a6fdc66f", 0, "", false},
		{"no serial", "audit(1729738800.268): x=1", 0, "", false},
		{"bad serial", "audit(1729738800.268:x): x=1", 0, "", false},
		{"unterminated", "audit(1729738800.268:30 x=1", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serial, body, ok := splitHeader(tt.in)
			if serial != tt.wantSerial || body != tt.wantBody || ok != tt.wantOK {
				t.Errorf("got %d %q %v, want %d %q %v", serial, body, ok, tt.wantSerial, tt.wantBody, tt.wantOK)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"access", `domain=195ba459b blockers=fs.make_reg,fs.refer path="/usr/local" dev="vda2" ino=365`,
			map[string]string{"domain": "195ba459b", "blockers": "fs.make_reg,fs.refer", "path": "/usr/local", "dev": "vda2", "ino": "365"}},
		// A path with a space is logged as hex; a domain id that looks like hex is not decoded.
		{"hex path", `domain=1a6fdc679 blockers=fs.read_file path=2F746D702F6120622E747874 dev="vda" ino=9`,
			map[string]string{"domain": "1a6fdc679", "blockers": "fs.read_file", "path": "/tmp/a b.txt", "dev": "vda", "ino": "9"}},
		{"domain", `domain=1a6fdc66f status=allocated mode=enforcing pid=286 uid=0 exe="/root/sandboxer" comm="sandboxer"`,
			map[string]string{"domain": "1a6fdc66f", "status": "allocated", "mode": "enforcing", "pid": "286", "uid": "0", "exe": "/root/sandboxer", "comm": "sandboxer"}},
		{"hex comm with a quote", `pid=7 comm=6122622063 exe=(null) key=(null)`,
			map[string]string{"pid": "7", "comm": `a"b c`, "exe": "(null)", "key": "(null)"}},
		{"odd hex is left alone", `name=ABC`, map[string]string{"name": "ABC"}},
		{"first of duplicate keys wins", `pid=1 pid=2`, map[string]string{"pid": "1"}},
		{"words without =", `hello pid=3 world`, map[string]string{"pid": "3"}},
		{"unterminated quote", `path="/etc/pass`, map[string]string{"path": "/etc/pass"}},
		{"empty", ``, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseFields(tt.in)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// readTestdata feeds the records of a testdata file to a, returning the denials in order.
func readTestdata(t *testing.T, a *assembler, name string, now time.Time) []Denial {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Denial
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, text, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(typ)
		if err != nil {
			t.Fatalf("%s: %q", name, line)
		}
		out = append(out, a.add(n, text, now)...)
	}
	return out
}

func TestAssemblerRealEvents(t *testing.T) {
	a := newAssembler()
	got := readTestdata(t, a, "testdata/landlock-events.txt", time.Now())
	const test = "/tmp/go-build1569515046/b001/audit.test"
	want := []Denial{
		{Domain: "1a87f0e14", Pid: 24361, DomainPid: 24361, Path: "/etc/hostname", Blockers: []string{"fs.read_file"}, Exe: test, Comm: "audit.test"},
		{Domain: "1a87f0e14", Pid: 24367, DomainPid: 24361, Path: "/etc/ld.so.cache", Blockers: []string{"fs.read_file"}, Exe: "/usr/bin/cat", Comm: "cat"},
		{Domain: "1a87f0e14", Pid: 24367, DomainPid: 24361, Path: "/etc/passwd", Blockers: []string{"fs.read_file"}, Exe: "/usr/bin/cat", Comm: "cat"},
		{Domain: "1a87f0e14", Pid: 24361, DomainPid: 24361, Path: "/usr", Blockers: []string{"fs.make_reg"}, Exe: test, Comm: "audit.test"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	if a.waiting() {
		t.Errorf("events left pending: %v", a.pending)
	}
	if len(a.domains) != 0 {
		t.Errorf("a deallocated domain is remembered: %v", a.domains)
	}
}

// A process that has no audit context (started before auditing was on) gets records without a
// SYSCALL record or an event end, each with its own serial.
func TestAssemblerEventsWithoutEOE(t *testing.T) {
	a := newAssembler()
	t0 := time.Now()
	recs := []struct {
		typ  int
		text string
	}{
		{typeLandlockAccess, `audit(1.000:40): domain=abc blockers=fs.write_file,fs.read_file path="/etc/shadow" dev="vda" ino=3`},
		{typeLandlockDomain, `audit(1.000:41): domain=abc status=allocated mode=enforcing pid=500 uid=0 exe="/usr/bin/sesame" comm="sesame"`},
		{typeLandlockAccess, `audit(1.000:42): domain=abc blockers=fs.remove_file name="x" dev="vda" ino=4`},
	}
	for _, r := range recs {
		if d := a.add(r.typ, r.text, t0); d != nil {
			t.Fatalf("denials before the wait: %v", d)
		}
	}
	if d := a.flush(t0.Add(eventWithoutEOEWait / 2)); d != nil {
		t.Fatalf("flushed too early: %v", d)
	}
	got := a.flush(t0.Add(eventWithoutEOEWait))
	want := []Denial{
		{Domain: "abc", Pid: 500, DomainPid: 500, Path: "/etc/shadow", Blockers: []string{"fs.write_file", "fs.read_file"}, Exe: "/usr/bin/sesame", Comm: "sesame"},
		{Domain: "abc", Pid: 500, DomainPid: 500, Path: "x", Blockers: []string{"fs.remove_file"}, Exe: "/usr/bin/sesame", Comm: "sesame"},
	}
	byPath := cmpopts.SortSlices(func(a, b Denial) bool { return a.Path < b.Path })
	if diff := cmp.Diff(want, got, byPath); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	if a.waiting() {
		t.Error("events left pending")
	}
}

func TestAssemblerIgnoresOtherEvents(t *testing.T) {
	a := newAssembler()
	a.add(typeSyscall, `audit(1.0:7): arch=c000003e syscall=59 success=yes pid=1 comm="init"`, time.Now())
	a.add(1327, `audit(1.0:7): proctitle=696E6974`, time.Now())
	if d := a.add(typeEOE, `audit(1.0:7): `, time.Now()); d != nil || a.waiting() {
		t.Errorf("an event without Landlock records gave %v, pending %v", d, a.pending)
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		blockers []string
		want     string
	}{
		{[]string{"fs.read_file"}, "read"},
		{[]string{"fs.read_dir"}, "read"},
		{[]string{"fs.write_file"}, "write"},
		{[]string{"fs.read_file", "fs.write_file"}, "write"},
		{[]string{"fs.truncate"}, "write"},
		{[]string{"fs.execute"}, "execute"},
		{[]string{"fs.execute", "fs.read_file"}, "execute"},
		{[]string{"fs.make_reg"}, "create"},
		{[]string{"fs.make_dir"}, "create"},
		{[]string{"fs.make_sym"}, "create"},
		{[]string{"fs.make_reg", "fs.refer"}, "create"},
		{[]string{"fs.remove_file"}, "remove"},
		{[]string{"fs.remove_dir"}, "remove"},
		{[]string{"fs.refer"}, "rename"},
		{[]string{"fs.ioctl_dev"}, "ioctl"},
		{[]string{"fs.change_topology"}, "mount"},
		{[]string{"net.connect_tcp"}, "connect"},
		{[]string{"scope.signal"}, "signal"},
		{[]string{"fs.something_new"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := (Denial{Blockers: tt.blockers}).Access(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.blockers, got, tt.want)
		}
	}
}

func TestViolation(t *testing.T) {
	d := Denial{Path: "/etc/shadow", Blockers: []string{"fs.read_file"}}
	want := sesame.Violation{
		Kind: sesame.ViolationFilesystem, Target: "/etc/shadow", Access: "read",
		Reason: "outside the folders the agent may read (Landlock: fs.read_file)",
	}
	if diff := cmp.Diff(want, d.Violation()); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add(typeLandlockAccess, `audit(1.0:1): domain=a blockers=fs.read_file path="/x" dev="v" ino=1`)
	f.Add(typeLandlockDomain, `audit(1.0:1): domain=a status=allocated pid=1 exe="/x" comm="x"`)
	f.Add(typeSyscall, `audit(1.0:1): pid=2 comm=78 exe="/x"`)
	f.Add(typeEOE, `audit(1.0:1): `)
	a := newAssembler()
	f.Fuzz(func(t *testing.T, typ int, text string) {
		now := time.Now()
		for _, d := range a.add(typ, text, now) {
			_ = d.Violation()
		}
		a.flush(now.Add(time.Hour))
	})
}
