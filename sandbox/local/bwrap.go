package local

import (
	"path/filepath"
	"slices"
	"strconv"
)

// Paths inside every sandbox.
const (
	// sandboxRun holds what Sesame puts in a sandbox: the init binary and the proxy's socket.
	sandboxRun = "/run/sesame"
	// sandboxInit is where the init stage (the sesame binary itself) is bound read-only.
	sandboxInit = sandboxRun + "/init"
	// sandboxProxySocket is where the task's egress proxy socket is bound.
	sandboxProxySocket = sandboxRun + "/proxy.sock"
	// sandboxPreviewSocket is where the task's preview gateway socket is bound.
	sandboxPreviewSocket = sandboxRun + "/preview.sock"
	// ProxyPort is the loopback port the in-sandbox relay listens on; HTTP_PROXY, HTTPS_PROXY and
	// ALL_PROXY point at it.
	ProxyPort = 3128
)

// jail is everything one bubblewrap command line is built from. It is a pure description: the
// paths in it have been checked by the caller; args only orders them.
type jail struct {
	// secure adds the network namespace (its only way out the proxy relay), and the init stage
	// that applies Landlock and seccomp before the command runs.
	secure bool
	// system are host folders bound read-only at the same path (only those that exist), or made
	// the same symlinks as on the host (merged /usr: /bin -> usr/bin).
	system []hostPath
	// readOnly are further host paths bound read-only (agent installs, the mirror's objects).
	readOnly []string
	// readWrite are host paths bound read-write (the workspace, the per-task home and tmp).
	readWrite []string
	// hide are paths inside the bound trees that must not be seen: a folder becomes an empty
	// read-only tmpfs, a file /dev/null.
	hide []hostPath
	// files are host files bound read-only over a path inside (dest → source): the synthetic
	// /etc/passwd and /etc/group.
	files [][2]string
	// proxySocket is the host path of the task's proxy socket (secure only).
	proxySocket string
	// previewSocket is the host path of the task's preview gateway socket (secure only; "" for none).
	previewSocket string
	// init is the host path of the init binary (secure only).
	init string
	// dir is the working directory.
	dir string
}

// hostPath is a path on the host and what it is there.
type hostPath struct {
	path    string
	dir     bool
	symlink string // the link's target when the path is a symlink
}

// args returns bubblewrap's arguments for running argv, after "bwrap". In secure mode argv runs
// under the init stage: bwrap → init (relay) → exec stage (Landlock, seccomp) → argv.
func (j jail) args(argv []string, rules initRules) []string {
	a := []string{
		// Every namespace: user, PID (with a fresh /proc below), IPC, UTS, cgroup; the network one
		// only when secure (without it the agent shares the host's network).
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--disable-userns",
		"--die-with-parent", "--new-session",
		"--hostname", "sesame",
	}
	if j.secure {
		a = append(a, "--unshare-net")
	}
	for _, p := range j.system {
		if p.symlink != "" {
			a = append(a, "--symlink", p.symlink, p.path)
		} else {
			a = append(a, "--ro-bind", p.path, p.path)
		}
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run")
	for _, p := range j.readOnly {
		a = append(a, "--ro-bind", p, p)
	}
	for _, p := range j.readWrite {
		a = append(a, "--bind", p, p)
	}
	for _, h := range j.hide {
		if h.dir {
			a = append(a, "--perms", "0000", "--tmpfs", h.path, "--remount-ro", h.path)
		} else {
			a = append(a, "--ro-bind", "/dev/null", h.path)
		}
	}
	for _, f := range j.files {
		a = append(a, "--ro-bind", f[1], f[0])
	}
	if j.secure {
		a = append(a, "--ro-bind", j.proxySocket, sandboxProxySocket, "--ro-bind", j.init, sandboxInit)
		if j.previewSocket != "" {
			a = append(a, "--ro-bind", j.previewSocket, sandboxPreviewSocket)
		}
	}
	a = append(a, "--chdir", j.dir, "--")
	if j.secure {
		a = append(a, sandboxInit, initArg)
		a = append(a, rules.args()...)
		a = append(a, "--")
	}
	return append(a, argv...)
}

// initRules is what the init stage is told on its command line: where the proxy socket is, and
// the folders Landlock lets the command use. No secret is ever among them (argv is readable by
// anyone on the host).
type initRules struct {
	proxy     string // socket path inside the sandbox
	port      int
	preview   string // the preview gateway's socket inside the sandbox; "" for none
	readWrite []string
	readOnly  []string
}

func (r initRules) args() []string {
	a := []string{"-proxy", r.proxy, "-port", strconv.Itoa(r.port)}
	if r.preview != "" {
		a = append(a, "-preview", r.preview)
	}
	for _, p := range r.readWrite {
		a = append(a, "-rw", p)
	}
	for _, p := range r.readOnly {
		a = append(a, "-ro", p)
	}
	return a
}

// landlockRules are the folders the command may use inside the sandbox: read-write the writable
// binds, /tmp and /dev; read-only (and execute) the system folders, the read-only binds, /proc
// and /run/sesame.
func (j jail) landlockRules() initRules {
	r := initRules{proxy: sandboxProxySocket, port: ProxyPort}
	if j.previewSocket != "" {
		r.preview = sandboxPreviewSocket
	}
	r.readWrite = append(slices.Clone(j.readWrite), "/tmp", "/dev")
	for _, p := range j.system {
		if p.symlink == "" {
			r.readOnly = append(r.readOnly, p.path)
		}
	}
	r.readOnly = append(r.readOnly, j.readOnly...)
	r.readOnly = append(r.readOnly, "/proc", sandboxRun)
	for _, f := range j.files {
		r.readOnly = append(r.readOnly, filepath.Clean(f[0]))
	}
	return r
}
