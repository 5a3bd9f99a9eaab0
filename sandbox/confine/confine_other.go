//go:build !linux || !(amd64 || arm64)

package confine

import (
	"errors"
	"runtime"
)

var errUnsupported = errors.New("confine: Landlock and the seccomp filter are implemented for linux/amd64 and linux/arm64 only, not " +
	runtime.GOOS + "/" + runtime.GOARCH)

// Apply confines the calling process; here it cannot, and says so.
func Apply(r Rules) error { return errUnsupported }

// ApplySeccomp loads the seccomp filter; here it cannot, and says so.
func ApplySeccomp() error { return errUnsupported }

// Available reports whether Apply can work here: it cannot.
func Available() (abi int, err error) { return 0, errUnsupported }
