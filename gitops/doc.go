// Package gitops is Sesame's git side: a cache of bare mirrors, one per
// repository (Cache.Sync), workspaces checked out from them (Checkout), the
// agent's changes committed with go-git (Commit), a branch pushed with the
// installation token (Push), a branch name per task (BranchName) and the diff
// stats of a pull request (Stat).
//
// The git CLI does the network and checkout work (go-git was 4-10x slower
// there, see sandbox-facts.md); go-git makes the commit.
//
// # The token
//
// The installation token is used by Sync and Push only, and only through
// git's environment (GIT_CONFIG_COUNT/KEY/VALUE set http.extraHeader to
// "Authorization: Basic base64(x-access-token:TOKEN)"). It is never in argv,
// in a URL, or in any file of a mirror or workspace; remote URLs with
// credentials are refused; git's standard error is scrubbed of it before it
// goes into an error. Every git command runs with a minimal environment: an
// empty HOME, no system or global git configuration, no prompt.
//
// # The workspace after the agent
//
// Commit, Push and Stat run after an agent had the workspace to itself, so
// they never run git with the workspace's configuration or hooks (a hook,
// filter, fsmonitor, insteadOf or proxy setting could run a command or send
// the token elsewhere): refs are read with go-git, and git runs with a
// temporary, empty repository's configuration over the workspace's objects
// and index.
//
// # Cancellation
//
// Every git command runs in its own process group, killed as a whole when
// its context is done; lock waits end with the context too. Commit, which
// has no context, bounds itself to 10 minutes.
package gitops
