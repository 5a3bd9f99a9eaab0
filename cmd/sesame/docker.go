package main

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/sandbox/docker"
)

// dockerSandbox is the docker provider as cfg configures it: the engine at DOCKER_HOST, the image
// and limits from the settings, and this worker's instance label. The sesame binary is every
// container's init, so it must be built with CGO_ENABLED=0 (the Makefile and the Dockerfile do).
func dockerSandbox(cfg *config.Config, logger *slog.Logger) (*docker.Provider, error) {
	mem, err := config.ParseBytes(cfg.String(config.SandboxDockerMemory))
	if err != nil {
		return nil, err
	}
	cpus, err := strconv.ParseFloat(cfg.String(config.SandboxDockerCPUs), 64)
	if err != nil {
		return nil, err
	}
	return docker.New(docker.Options{
		Image:       cfg.String(config.SandboxDockerImage),
		CPUs:        cpus,
		MemoryBytes: mem,
		PIDs:        int64(cfg.Int(config.SandboxDockerPIDs)),
		Instance:    dockerInstance(cfg),
		Logger:      logger.With("component", "docker"),
	})
}

// dockerInstance labels the containers of the workers on this host that share TASK_DIR_BASE: a
// worker that starts removes what a dead predecessor of this label left, as it does its folders.
func dockerInstance(cfg *config.Config) string {
	host, _ := os.Hostname()
	base, err := filepath.Abs(cfg.String(config.TasksBaseDirectory))
	if err != nil {
		base = cfg.String(config.TasksBaseDirectory)
	}
	sum := sha256.Sum256([]byte(base))
	return host + "-" + hex.EncodeToString(sum[:6])
}
