package pgcluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

func TestKillKeepsCommittedRows(t *testing.T) {
	began := time.Now()
	c := Start(t)
	t.Logf("Start (initdb and first start): %v", time.Since(began))
	db := c.CreateDatabase(t, "app")

	mustExec(t, db, "CREATE TABLE tasks (id int PRIMARY KEY, state text NOT NULL)")
	mustExec(t, db, "INSERT INTO tasks VALUES (1, 'done')")

	// A transaction still open when the server dies is lost, and so is its connection.
	ctx := context.Background()
	open, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(ctx)
	tx, err := open.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO tasks VALUES (2, 'running')"); err != nil {
		t.Fatal(err)
	}

	began = time.Now()
	c.Kill(t)
	t.Logf("Kill: %v", time.Since(began))
	if conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port()))); err == nil {
		conn.Close()
		t.Fatal("the port still accepts connections after Kill")
	}
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("a transaction begun before Kill committed after it")
	}

	began = time.Now()
	c.Start(t)
	t.Logf("Start after Kill (crash recovery): %v", time.Since(began))
	if got := state(t, db, 1); got != "done" {
		t.Fatalf("state after Kill and Start = %q, want done", got)
	}
	if got := state(t, db, 2); got != "" {
		t.Fatalf("the uncommitted row is there after Kill and Start, with state %q", got)
	}
}

func TestStopStartRestart(t *testing.T) {
	c := Start(t)
	db := c.CreateDatabase(t, "app")
	port := c.Port()
	mustExec(t, db, "CREATE TABLE tasks (id int PRIMARY KEY, state text NOT NULL)")
	mustExec(t, db, "INSERT INTO tasks VALUES (1, 'queued')")

	began := time.Now()
	c.Stop(t)
	t.Logf("Stop: %v", time.Since(began))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, db); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}

	began = time.Now()
	c.Start(t)
	t.Logf("Start after Stop: %v", time.Since(began))
	mustExec(t, db, "UPDATE tasks SET state = 'running' WHERE id = 1")

	began = time.Now()
	c.Restart(t)
	t.Logf("Restart: %v", time.Since(began))
	if got := state(t, db, 1); got != "running" {
		t.Fatalf("state after Restart = %q, want running", got)
	}
	if c.Port() != port || !strings.Contains(db, ":"+strconv.Itoa(port)+"/") {
		t.Fatalf("port changed from %d to %d", port, c.Port())
	}
}

// TestCleanupLeavesNothing kills a cluster and lets its test end: the folder, the processes and the
// System V shared memory segment must all be gone.
func TestCleanupLeavesNothing(t *testing.T) {
	var c *Cluster
	var shmid int
	t.Run("cluster", func(t *testing.T) {
		c = Start(t)
		shmid = segment(t, c)
		c.Kill(t)
	})
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("folder %s still there: %v", c.dir, err)
	}
	if pids := processesIn(c.data); len(pids) > 0 {
		t.Errorf("processes %v still run in %s", pids, c.data)
	}
	var ds unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(shmid, unix.IPC_STAT, &ds); err == nil {
		t.Errorf("shared memory segment %d still there", shmid)
	}
}

func TestURL(t *testing.T) {
	c := &Cluster{port: 25432}
	want := "postgres://postgres@127.0.0.1:25432/app?sslmode=disable"
	if got := c.URL("app"); got != want {
		t.Fatalf("URL = %s, want %s", got, want)
	}
}

func mustExec(t *testing.T, db, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// state returns the state of task id, or "" when there is no such task.
func state(t *testing.T, db string, id int) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, "SELECT state FROM tasks WHERE id = $1", id).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	if err != nil {
		t.Fatalf("select task %d: %v", id, err)
	}
	return s
}

// segment returns the id of the cluster's System V segment.
func segment(t *testing.T, c *Cluster) int {
	t.Helper()
	id, ok := c.segment()
	if !ok {
		b, _ := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
		t.Fatalf("no shared memory segment in postmaster.pid:\n%s", b)
	}
	return id
}
