// Package egress is a task's only way out to the network: an HTTP proxy (CONNECT tunnels and
// absolute-form plain HTTP requests) that lets an agent reach the destinations its sandbox.Policy
// allows and nothing else.
//
// # Deployment
//
// The server runs one [Proxy] per task, serving on a unix socket made by [ListenUnix] in a private
// directory that only that task's sandbox gets (bind-mounted in; an in-sandbox relay forwards
// 127.0.0.1:3128 to it). A connection is therefore attributed to a task by the socket it came in
// on, never by anything the client sends, and the proxy asks for no credentials.
//
// # Decisions
//
// Every request is decided twice, both times before a byte reaches the destination:
//
//  1. On the host name and port, before any DNS lookup, by [Rules.Check]: the denied domains
//     first, then the operator's exact endpoints, then the allowed domains, else deny. IP
//     literals in any spelling (127.1, 2130706433, 0x7f000001, [::ffff:127.0.0.1]) are
//     canonicalised first and match only an entry written as that same address.
//  2. For everything but an endpoint, on the addresses the name resolved to: loopback,
//     link-local (with the cloud metadata address), private, CGNAT, multicast, unspecified,
//     reserved addresses and the host's own addresses are refused, in IPv4-mapped and NAT64
//     spellings too. The proxy dials only an address it has vetted; it never resolves a name
//     twice, so DNS rebinding cannot slip a second answer in.
//
// A refusal answers 403 Forbidden with a one-line text/plain reason and is reported once through
// [Options.OnViolation]; a destination that cannot be reached answers 502 Bad Gateway.
package egress
