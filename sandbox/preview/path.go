package preview

import "path/filepath"

// SocketName is the gateway socket's name in a task's folder ({TASK_DIR_BASE}/{taskId}): the runner
// listens there and a web node on the same host finds it there.
const SocketName = "preview.sock"

// SocketPath is the gateway socket of the task whose folder is taskDir.
func SocketPath(taskDir string) string { return filepath.Join(taskDir, SocketName) }
