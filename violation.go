package sesame

// Task event types that several packages spell.
const (
	EventStatus    = "status"    // a change of status; Message is the new status
	EventStep      = "step"      // a step of the runner (workspace ready, committed, ...)
	EventSetup     = "setup"     // the runtimes and dependencies installed before the agent: a line of output, or a step's end
	EventAgent     = "agent"     // something the agent did (text, tool call, result)
	EventReply     = "reply"     // a reply posted where the request came from
	EventSandbox   = "sandbox"   // how the agent's sandbox was set up (provider, whether security was on)
	EventViolation = "violation" // the sandbox refused something the agent tried (see Violation)
	EventPreview   = "preview"   // the ports with a server in the sandbox changed; Data["ports"] lists them
)

// ViolationKind says which wall a violation hit.
type ViolationKind string

const (
	ViolationNetwork    ViolationKind = "network"    // a connection the egress proxy refused
	ViolationFilesystem ViolationKind = "filesystem" // a file access the kernel (Landlock) refused
)

// Violation is one thing the sandbox refused an agent: a connection to a host outside its allowlist,
// a read or write outside the folders it may use.
type Violation struct {
	Kind ViolationKind `json:"kind"`
	// Target is what was refused: "host:port" for a connection, an absolute path for a file.
	Target string `json:"target"`
	// Access is what the agent tried: "connect" for the network; "read", "write", "execute" and the
	// like for a file.
	Access string `json:"access,omitempty"`
	// Reason is one line saying which rule refused it.
	Reason string `json:"reason,omitempty"`
}

// Data returns v as the data of a violation task event.
func (v Violation) Data() map[string]any {
	d := map[string]any{"kind": string(v.Kind), "target": v.Target}
	if v.Access != "" {
		d["access"] = v.Access
	}
	if v.Reason != "" {
		d["reason"] = v.Reason
	}
	return d
}
