// Package preview reaches the servers an agent starts inside its sandbox (a dev server on a
// port), which the sandbox's network namespace hides from the host.
//
// The host side is a [Gateway]: the runner listens on a unix socket in the task's folder and
// names it in sandbox.Spec.PreviewSocket. The provider binds that socket into the sandbox, and its
// init (the process that already relays the egress proxy, inside the sandbox's network namespace)
// runs [Serve]: it connects to the gateway as a control connection and, on the gateway's request,
// lists the loopback ports something listens on or dials one of them and connects back to the
// gateway with the new stream. Nothing inside the sandbox ever listens on a socket the host
// connects to, so the agent cannot plant a socket or a symlink for Sesame to follow.
//
// Whoever reaches the gateway socket on the host (the runner, a web node on the same host) asks it
// for a port with [Dial] and gets a plain byte stream to that port inside the sandbox.
//
// # The agent is untrusted
//
// The sandbox's processes can connect to the gateway too (the socket is visible inside). What they
// can do there is what they can already do: reach their own sandbox's ports. A connection must
// introduce itself within a few seconds in one short line; streams are matched to requests by a
// random 128-bit id the agent never sees; the number of connections waiting to introduce themselves,
// of control connections and of dials in flight is bounded. Everything a preview serves is the
// agent's content: the web app serves it sandboxed (see admin's preview handler).
//
// # Wire format
//
// Lines end with "\n" and are at most 128 bytes.
//
//	sandbox → gateway:  "sesame-preview control"                      (then gateway → sandbox requests)
//	gateway → sandbox:  "dial ID PORT" | "ports ID"
//	sandbox → gateway:  "ports ID P1,P2,..."                           (on the control connection)
//	sandbox → gateway:  "sesame-preview conn ID ok" | "... conn ID err REASON" (a new connection; raw bytes follow ok)
//	client → gateway:   "sesame-preview dial PORT" | "sesame-preview ports"
//	gateway → client:   "ok" (raw bytes follow) | "ports P1,P2,..." | "err REASON"
package preview
