package runner_test

import (
	"os"
	"testing"

	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/dockertest"
	"github.com/sesame-works/sesame/sandbox/docker"
)

// dockerEscapeProvider is the docker provider as the server runs it, on the engine at DOCKER_HOST
// (scripts/test starts Podman's service): the Claude Code CLI comes with the image (the CLI this
// host has, with bash, busybox, curl and getent: what the attacks use), and the init is the
// provider's static test init. One provider serves every attack; it is closed when they end.
func dockerEscapeProvider(t *testing.T, claude string) *escapeProvider {
	t.Helper()
	image := dockertest.MustImage(t, dockertest.ClaudeImage(claude))
	init := dockertest.MustInit(t)
	initBytes, err := os.ReadFile(init)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := docker.New(docker.Options{Host: dockertest.Host(), Image: image, Init: init, Instance: "runner-escape-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	if err := dp.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &escapeProvider{
		name: "docker", claude: "/usr/local/bin/claude", hostClaude: claude,
		proxySocket: "/run/sesame/proxy/proxy.sock",
		relay: func(cmd string) string {
			return "{ /run/sesame/init __sesame-docker-serve -proxy /run/sesame/proxy/proxy.sock -port 3129 & sleep 0.5; " + cmd + "; }"
		},
		init: init, initBytes: initBytes,
		use: func(t *testing.T, h *agentHarness) {
			h.runner.Sandbox = dp
			// The CLI is the image's, on its PATH; the host's install means nothing there.
			h.runner.Agents = claudeAgents{model: h.model.URL}
			if os.Geteuid() == 0 { // as the server hands the mirrors to the containers' user
				uid, gid := dp.Owner()
				h.runner.Mirrors.Owner = &gitops.Owner{UID: uid, GID: gid}
			}
		},
	}
}
