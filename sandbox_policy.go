package sesame

import "strings"

// SandboxPolicy is the admin's sandbox policy as it stands when a task starts: shared by every
// node (admin-saved settings over the config file).
type SandboxPolicy struct {
	// SecurityEnabled is sandbox.security.enabled: whether tasks run with OS-level restrictions
	// when they do not say. When false a user may turn them on for a task.
	SecurityEnabled bool
	// AllowDisable is sandbox.security.allowDisable: whether a task may turn them off when
	// SecurityEnabled is true. When false every task runs with them.
	AllowDisable bool
	// AllowedDomains (sandbox.allowedDomains) every task may reach, beside its agent's own: names,
	// *.names, IP addresses, and host:port entries (see Endpoints).
	AllowedDomains []string
	// DeniedDomains (sandbox.deniedDomains) no task may reach; they win over every allow.
	DeniedDomains []string
}

// Secured says whether a task that asked for security (nil: no choice) runs with it under p.
func (p SandboxPolicy) Secured(asked *bool) bool {
	switch {
	case asked == nil:
		return p.SecurityEnabled
	case *asked:
		return true
	}
	return p.SecurityEnabled && !p.AllowDisable
}

// MayDisable reports whether a user may run a task without OS-level restrictions under p.
func (p SandboxPolicy) MayDisable() bool { return !p.SecurityEnabled || p.AllowDisable }

// Domains returns the allowed entries that name hosts (on any port) and those that name one exact
// endpoint (host:port), which the egress proxy treats apart: an endpoint may be on a private address.
func (p SandboxPolicy) Domains() (hosts, endpoints []string) {
	for _, e := range p.AllowedDomains {
		if isEndpoint(e) {
			endpoints = append(endpoints, e)
		} else {
			hosts = append(hosts, e)
		}
	}
	return hosts, endpoints
}

// isEndpoint reports whether e is host:port: one colon (a name or IPv4 with a port), or a bracketed
// IPv6 address followed by a port.
func isEndpoint(e string) bool {
	if strings.HasPrefix(e, "[") {
		return strings.Contains(e, "]:")
	}
	return strings.Count(e, ":") == 1
}
