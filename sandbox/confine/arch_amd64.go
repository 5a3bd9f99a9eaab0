//go:build linux

package confine

import "golang.org/x/sys/unix"

// nativeArch is what the filter lets through: x86-64 system calls only. The same process can also
// enter the kernel through int 0x80 (i386 numbers, AUDIT_ARCH_I386) and with __X32_SYSCALL_BIT set
// (x32 numbers under the x86-64 audit arch); both would step around a list of x86-64 numbers.
func nativeArch() arch { return arch{Audit: unix.AUDIT_ARCH_X86_64, X32Bit: 0x40000000} }
