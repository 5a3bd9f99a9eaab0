package sesame

// SandboxPolicy is the admin's sandbox policy as it stands when a task starts: shared by every
// node (admin-saved settings over the config file).
type SandboxPolicy struct {
	// SecurityEnabled is sandbox.security.enabled: when true every task runs with OS-level
	// restrictions and a user cannot turn them off; when false a user may turn them on for a task.
	SecurityEnabled bool
	// AllowedDomains (sandbox.allowedDomains) every task may reach, beside its agent's own.
	AllowedDomains []string
	// DeniedDomains (sandbox.deniedDomains) no task may reach; they win over every allow.
	DeniedDomains []string
}

// Secured says whether a task that asked for security (nil: no choice) runs with it under p.
func (p SandboxPolicy) Secured(asked *bool) bool {
	return p.SecurityEnabled || (asked != nil && *asked)
}
