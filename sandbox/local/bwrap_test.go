package local

import (
	"slices"
	"strings"
	"testing"
)

func TestJailArgs(t *testing.T) {
	j := jail{
		system:    []hostPath{{path: "/usr", dir: true}, {path: "/bin", symlink: "usr/bin"}, {path: "/etc", dir: true}},
		readOnly:  []string{"/opt/agents"},
		readWrite: []string{"/srv/t/1/repo", "/srv/t/1/home"},
		hide:      []hostPath{{path: "/etc/sesame", dir: true}, {path: "/etc/app.pem"}},
		files:     [][2]string{{"/etc/passwd", "/srv/t/1/.sandbox/passwd"}},
		dir:       "/srv/t/1/repo",
	}
	open := strings.Join(j.args([]string{"claude", "-p"}, j.landlockRules()), " ")
	for _, want := range []string{
		"--unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --disable-userns --die-with-parent --new-session",
		"--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp --tmpfs /run",
		"--ro-bind /opt/agents /opt/agents --bind /srv/t/1/repo /srv/t/1/repo --bind /srv/t/1/home /srv/t/1/home",
		"--perms 0000 --tmpfs /etc/sesame --remount-ro /etc/sesame --ro-bind /dev/null /etc/app.pem",
		"--ro-bind /srv/t/1/.sandbox/passwd /etc/passwd",
		"--chdir /srv/t/1/repo -- claude -p",
	} {
		if !strings.Contains(open, want) {
			t.Errorf("open sandbox args lack %q:\n%s", want, open)
		}
	}
	for _, never := range []string{"--unshare-net", sandboxInit, "--share-net", "--ro-bind / /"} {
		if strings.Contains(open, never) {
			t.Errorf("open sandbox args hold %q:\n%s", never, open)
		}
	}

	j.secure, j.init, j.proxySocket = true, "/srv/t/.sesame-init/sesame-init-1", "/srv/t/1/.sandbox/proxy.sock"
	secure := j.args([]string{"claude", "-p"}, j.landlockRules())
	s := strings.Join(secure, " ")
	for _, want := range []string{
		"--unshare-net",
		"--ro-bind /srv/t/1/.sandbox/proxy.sock /run/sesame/proxy.sock --ro-bind /srv/t/.sesame-init/sesame-init-1 /run/sesame/init",
		"-- /run/sesame/init __sesame-sandbox-init -proxy /run/sesame/proxy.sock -port 3128",
		"-rw /srv/t/1/repo -rw /srv/t/1/home -rw /tmp -rw /dev -ro /usr -ro /etc -ro /opt/agents -ro /proc -ro /run/sesame",
		"-- claude -p",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("secured sandbox args lack %q:\n%s", want, s)
		}
	}
	// The command comes last, after the init's own "--": nothing it says is read as an option.
	if i := slices.Index(secure, "claude"); i < 1 || secure[i-1] != "--" {
		t.Errorf("the command does not follow a --: %v", secure)
	}
}

func TestHidden(t *testing.T) {
	dir := t.TempDir()
	bound := []string{"/usr", "/etc", dir}
	// Only what exists, lies strictly inside a bound tree and holds no other bind is masked.
	got := hidden(bound, []string{dir}, []string{"/etc/hostname", "/root", "/usr", "/", dir + "/missing"})
	var paths []string
	for _, h := range got {
		paths = append(paths, h.path)
	}
	if !slices.Equal(paths, []string{"/etc/hostname"}) {
		t.Errorf("hidden = %v, want [/etc/hostname]", paths)
	}
}
