//go:build !linux

package audit

import (
	"context"
	"errors"
)

// Watch reads Landlock's denials from the kernel's audit log; only Linux has them.
func Watch(ctx context.Context, fn func(Denial)) error {
	return errors.New("audit: Landlock denials are only logged on Linux")
}
