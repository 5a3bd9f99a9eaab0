// Package pgcluster starts a private PostgreSQL cluster for one test, so the test can stop, crash
// and restart PostgreSQL without touching the machine's shared server (internal/pgtest), which
// other tests use at the same time.
//
// The cluster is made with Debian's initdb (the newest /usr/lib/postgresql/*/bin, else initdb and
// postgres on PATH; PG_BINDIR overrides both) in a folder under os.TempDir(), and serves
// 127.0.0.1 only, on a port of its own, to the superuser postgres without a password. When the
// test runs as root the server runs as the postgres system user, who owns that folder, since
// PostgreSQL refuses to run as root. Missing binaries fail the test: scripts/test installs them.
//
// A row whose COMMIT returned survives Kill, as it survives a crash of the real server:
// synchronous_commit is on, so PostgreSQL has written the commit to the WAL, in the kernel, before
// it answers. fsync is off, and initdb runs with --no-sync: fsync only guards against the kernel
// losing its page cache (power loss, a crash of the machine), which no test here can cause, and
// with it on each restart after Kill first fsyncs every file of the cluster, which took seconds.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// Superuser is the role that URL connects as.
const Superuser = "postgres"

// Cluster is one running (or stopped) PostgreSQL cluster owned by a test. Its methods are meant
// for the test's own goroutine; they are not safe for concurrent use.
type Cluster struct {
	bin  string // folder holding initdb and postgres
	dir  string // base folder: data/ and the server's log
	data string
	log  string
	port int
	cred *syscall.Credential // nil when running as the current user

	proc *exec.Cmd     // the postmaster, nil when stopped
	done chan struct{} // closed when proc has exited and been reaped
}

// Start initialises a cluster and starts it on a free port of 127.0.0.1. It is stopped and its
// files removed when t ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{bin: binDir(t)}
	if os.Geteuid() == 0 {
		c.cred = postgresUser(t)
	}
	dir, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		t.Fatalf("pgcluster: %v", err)
	}
	c.dir, c.data, c.log = dir, filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgcluster: server log:\n%s", c.readLog())
		}
		c.kill(t)
		c.removeSharedMemory(t)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("pgcluster: remove %s: %v", dir, err)
		}
	})
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatalf("pgcluster: %v", err)
		}
	}

	initdb := c.command(filepath.Join(c.bin, "initdb"), "-D", c.data, "-U", Superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgcluster: %s: %v\n%s(the postgres user must be able to reach %s)", initdb, err, out, dir)
	}

	// A port picked now may be taken before the server binds it: pick another and try again.
	for attempt := 1; ; attempt++ {
		c.port = freePort(t)
		before := len(c.readLog())
		err := c.start()
		if err == nil {
			return c
		}
		if attempt == 5 || !strings.Contains(c.readLog()[before:], "could not bind") {
			t.Fatalf("pgcluster: start: %v\n%s", err, c.readLog())
		}
	}
}

// URL returns the address of database db as the superuser.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the cluster listens on; it stays the same across restarts.
func (c *Cluster) Port() int { return c.port }

// CreateDatabase creates an empty database and returns its URL. The cluster must be running.
func (c *Cluster) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("pgcluster: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgcluster: create database %s: %v", name, err)
	}
	return c.URL(name)
}

// Stop shuts the cluster down the way `pg_ctl stop -m fast` does (SIGINT: sessions are ended,
// a checkpoint is written) and returns once the postmaster has exited.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if c.proc == nil {
		t.Fatal("pgcluster: Stop: the cluster is not running")
	}
	c.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("pgcluster: the server did not stop in 60 s\n%s", c.readLog())
	}
	c.proc = nil
	c.killStrays(t)
}

// Kill crashes the cluster: the postmaster and every process it started get SIGKILL, nothing is
// shut down cleanly, and the next Start runs crash recovery. It returns once they have all exited
// and the port is closed.
func (c *Cluster) Kill(t testing.TB) {
	t.Helper()
	if c.proc == nil {
		t.Fatal("pgcluster: Kill: the cluster is not running")
	}
	c.kill(t)
}

// Start starts a stopped or killed cluster again, on the same port and data, and returns once it
// accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if c.proc != nil {
		t.Fatal("pgcluster: Start: the cluster is already running")
	}
	if err := c.start(); err != nil {
		t.Fatalf("pgcluster: start: %v\n%s", err, c.readLog())
	}
}

// Restart stops the cluster (fast shutdown) and starts it again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.Stop(t)
	c.Start(t)
}

// start runs the postmaster and waits until it accepts connections or exits.
func (c *Cluster) start() error {
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.command(filepath.Join(c.bin, "postgres"), "-D", c.data,
		"-c", "port="+strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.data,
		"-c", "shared_buffers=16MB",
		"-c", "fsync=off", // see the package doc
		"-c", "synchronous_commit=on",
		"-c", "max_connections=50",
		// Segments as files in the data folder, which cleanup removes even after a Kill, rather
		// than in /dev/shm.
		"-c", "dynamic_shared_memory_type=mmap",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test process, should the test end without its cleanup.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	c.proc, c.done = cmd, done

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-done:
			c.proc = nil
			return fmt.Errorf("the server exited: %s", cmd.ProcessState)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection in 60 s: %w", err)
		}
	}
}

// kill SIGKILLs the postmaster, if running, and every process left of the cluster.
func (c *Cluster) kill(t testing.TB) {
	t.Helper()
	if c.proc != nil {
		c.proc.Process.Kill()
		<-c.done
		c.proc = nil
	}
	c.killStrays(t)
}

// killStrays SIGKILLs the processes still working in the data folder (the postmaster's children
// outlive it for a moment) and waits until none is left, so that a new postmaster finds neither
// its shared memory in use nor its port taken.
func (c *Cluster) killStrays(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := processesIn(c.data)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgcluster: processes %v of the cluster still run after SIGKILL", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// command runs name as the cluster's owner, with a clean environment, in the base folder.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// readLog returns the server's log, all of it: the log of a test's cluster stays short.
func (c *Cluster) readLog() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// removeSharedMemory removes the System V segment that a killed postmaster leaves behind, which
// would otherwise outlive the test in the kernel. After a clean shutdown there is none.
func (c *Cluster) removeSharedMemory(t testing.TB) {
	t.Helper()
	id, ok := c.segment()
	if !ok {
		return
	}
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil && !errors.Is(err, unix.EINVAL) {
		t.Errorf("pgcluster: remove shared memory segment %d: %v", id, err)
	}
}

// segment reads the id of the postmaster's System V segment from line 7 of postmaster.pid
// ("key id"); there is none once the postmaster has shut down cleanly and removed the file.
func (c *Cluster) segment() (int, bool) {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return 0, false
	}
	fields := strings.Fields(lines[6])
	if len(fields) != 2 {
		return 0, false
	}
	id, err := strconv.Atoi(fields[1])
	return id, err == nil
}

// binDir finds the folder with initdb and postgres: PG_BINDIR, else Debian's newest
// /usr/lib/postgresql/N/bin, else where initdb is on PATH.
func binDir(t testing.TB) string {
	t.Helper()
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("PG_BINDIR"); dir != "" {
		if !has(dir) {
			t.Fatalf("pgcluster: PG_BINDIR=%s holds no initdb and postgres", dir)
		}
		return dir
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(p); has(dir) {
			return dir
		}
	}
	t.Fatal("pgcluster: no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin " +
		"or on PATH: install Debian's postgresql package (scripts/test does) or set PG_BINDIR")
	return ""
}

// version reads N from /usr/lib/postgresql/N/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// postgresUser returns the credentials of the postgres system user, who runs the cluster when the
// test runs as root.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("pgcluster: running as root, the cluster needs the postgres system user "+
			"(Debian's postgresql package makes it): %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("pgcluster: postgres user: %v", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// freePort returns a port of 127.0.0.1 that nothing listens on, below Linux's ephemeral range
// (32768 and up) so that the outgoing connections of other tests do not land on it while the
// cluster is stopped.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("pgcluster: no free port in 20000–31999")
	return 0
}

// processesIn lists the processes whose working directory is dir or below: a postmaster and its
// children work in their data folder.
func processesIn(dir string) []int {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		panic("pgcluster: processesIn needs an absolute folder, not " + strconv.Quote(dir))
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
