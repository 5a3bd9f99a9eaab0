package docker

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// Labels every container of this provider carries.
const (
	LabelTask     = "works.sesame.task"
	LabelInstance = "works.sesame.instance"
	// LabelKeptWith is set on a keep-alive task's container: the task folder it is kept with. A
	// sweep removes the container once that folder is gone.
	LabelKeptWith = "works.sesame.kept-with"
)

const (
	// initPath is where the init binary is bound in every container.
	initPath = "/run/sesame/init"
	// socketDir is where the folder holding the task's proxy socket is bound.
	socketDir = "/run/sesame/proxy"
	// previewPath is where the task's preview gateway socket is bound.
	previewPath = "/run/sesame/preview.sock"
	// ProxyPort is the loopback port of the in-container relay to the task's egress proxy;
	// HTTP_PROXY and friends point at it.
	ProxyPort = 3128
	// DefaultPath is the PATH every process gets.
	DefaultPath = "/usr/local/bin:/usr/bin:/bin"
)

// containerSpec is everything a container is made from: the result of the pure conversion of a
// task's Spec and the provider's options, kept apart from the engine calls so that it can be
// table-tested.
type containerSpec struct {
	taskID, instance string
	image            string
	user             string // "uid:gid"
	home             string
	init             string // host path of the init binary
	workspace        string // host path, bound at the same path
	readOnly         []string
	proxyDir         string // host folder holding proxy.sock; "" without a proxy
	preview          string // host path of the preview gateway's socket; "" for none
	keptWith         string // the task folder a keep-alive container is kept with; "" otherwise
	network          string // "none" when secured, else Options.OpenNetwork
	cpus             float64
	memory, pids     int64
}

// configs converts s into the engine's container and host configurations.
func (s containerSpec) configs() (*container.Config, *container.HostConfig) {
	cmd := []string{initPath, serveArg}
	if s.proxyDir != "" {
		cmd = append(cmd, "-proxy", socketDir+"/proxy.sock", "-port", strconv.Itoa(ProxyPort))
	}
	if s.preview != "" {
		cmd = append(cmd, "-preview", previewPath)
	}
	cfg := &container.Config{
		Image:      s.image,
		User:       s.user,
		Entrypoint: cmd[:1],
		Cmd:        cmd[1:],
		Env:        baseEnv(s.home),
		WorkingDir: s.workspace,
		Labels:     map[string]string{LabelTask: s.taskID, LabelInstance: s.instance},
	}
	if s.keptWith != "" {
		cfg.Labels[LabelKeptWith] = s.keptWith
	}
	mounts := []mount.Mount{
		{Type: mount.TypeBind, Source: s.init, Target: initPath, ReadOnly: true},
		{Type: mount.TypeBind, Source: s.workspace, Target: s.workspace},
	}
	for _, ro := range s.readOnly {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: ro, Target: ro, ReadOnly: true})
	}
	if s.proxyDir != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: s.proxyDir, Target: socketDir, ReadOnly: true})
	}
	if s.preview != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: s.preview, Target: previewPath, ReadOnly: true})
	}
	pids := s.pids
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(s.network),
		Mounts:         mounts,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		// HOME: Podman copies the image's folder (its owner and mode) onto the tmpfs; Docker
		// applies the mode. Either way the user can write there when the image gives it its home.
		Tmpfs: map[string]string{
			"/tmp": "rw,nosuid,nodev,mode=1777",
			s.home: "rw,nosuid,nodev,mode=0777",
		},
		Resources: container.Resources{
			NanoCPUs:   int64(s.cpus * 1e9),
			Memory:     s.memory,
			MemorySwap: s.memory, // no swap beyond the limit
			PidsLimit:  &pids,
			Ulimits: []*container.Ulimit{
				{Name: "nofile", Soft: 1024, Hard: 1024},
				{Name: "nproc", Soft: s.pids, Hard: s.pids},
			},
		},
		Init:       new(bool), // our own init is PID 1
		AutoRemove: false,
	}
	return cfg, host
}

// baseEnv is the fixed environment every process starts from, before Spec.Env and
// ExecRequest.Env: nothing of the host's.
func baseEnv(home string) []string {
	env := []string{
		"PATH=" + DefaultPath,
		"HOME=" + home,
		"TMPDIR=/tmp",
		"LANG=C.UTF-8",
		"TERM=dumb",
		"CI=true",
		"GIT_TERMINAL_PROMPT=0",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local/share"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local/state"),
	}
	slices.Sort(env)
	return env
}

// execEnv is an Exec's environment: the base, then specEnv, then reqEnv (a later layer wins), and
// with a proxy every proxy variable pointing at the relay (and no other variable naming a proxy).
func execEnv(home, dir string, specEnv, reqEnv map[string]string, proxy bool) []string {
	env := map[string]string{}
	for _, kv := range baseEnv(home) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["PWD"] = dir
	for _, layer := range []map[string]string{specEnv, reqEnv} {
		for k, v := range layer {
			env[k] = v
		}
	}
	if proxy {
		for k := range env {
			if strings.Contains(strings.ToLower(k), "proxy") {
				delete(env, k)
			}
		}
		url := "http://127.0.0.1:" + strconv.Itoa(ProxyPort)
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
			env[k] = url
		}
		env["NO_PROXY"], env["no_proxy"] = "", ""
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
