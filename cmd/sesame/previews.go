package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox/preview"
)

// previewDialer reaches a task's previews through the gateway its runner listens on in the task's
// folder: the web node must share TASK_DIR_BASE with the worker (the same host).
type previewDialer struct{ base string }

func (d previewDialer) DialPreview(ctx context.Context, taskID string, port int) (net.Conn, error) {
	if uuid.Validate(taskID) != nil {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "There is no such task.")
	}
	c, err := preview.Dial(ctx, preview.SocketPath(filepath.Join(d.base, taskID)), port)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, sesame.Errorf(sesame.ENOTFOUND, "The task's sandbox is not running on this server: the task has ended, or its worker runs on another host (previews are served by a web node on the worker's host).")
	case errors.Is(err, preview.ErrNoSandbox):
		return nil, sesame.Errorf(sesame.ENOTFOUND, "No process runs in the task's sandbox now, so nothing serves port %d. (With the local provider, previews need sandbox security on.)", port)
	case errors.Is(err, preview.ErrNotListening):
		return nil, sesame.Errorf(sesame.ENOTFOUND, "Nothing listens on port %d in the task's sandbox (yet).", port)
	case errors.Is(err, preview.ErrPort):
		return nil, sesame.Errorf(sesame.EINVALID, "Port %d cannot be previewed.", port)
	}
	return nil, err
}
