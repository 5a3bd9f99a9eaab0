//go:build linux

package confine

import "golang.org/x/sys/unix"

// nativeArch is what the filter lets through: AArch64 system calls only, not AArch32 compat ones
// (whose numbers differ).
func nativeArch() arch { return arch{Audit: unix.AUDIT_ARCH_AARCH64} }
