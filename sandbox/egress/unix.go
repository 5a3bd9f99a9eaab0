package egress

import (
	"fmt"
	"io/fs"
	"net"
	"os"
)

// ListenUnix listens on a unix stream socket at path, made connectable by any user (mode 0666) so
// that a sandbox running under another uid can reach it: the directory holding it is what keeps
// other tasks out, so it must be private to one task. A stale socket at path is removed first;
// any other kind of file there is an error. Closing the listener removes the socket.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen %s: a file that is not a socket is in the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listen %s: remove stale socket: %w", path, err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return l, nil
}
