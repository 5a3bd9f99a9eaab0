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
// empty HOME, no system or global git configuration, no prompt; and with
// core.hooksPath=/dev/null and core.fsmonitor=false in its command-line
// configuration (carried by the same GIT_CONFIG_COUNT list as the token),
// which wins over any repository's: no hook or fsmonitor runs, whether it
// was planted in a mirror, a spare working tree or a workspace. Mirrors,
// spares and workspaces are made with --template=, so they have no hooks
// folder at all.
//
// # The workspace after the agent
//
// Commit, Push and Stat run after an agent had the workspace to itself, so
// they never run git with the workspace's configuration or hooks (a hook,
// filter, fsmonitor, core.hooksPath, core.sshCommand, insteadOf, proxy or
// include.path setting could run a command or send the token elsewhere):
// refs are read with go-git, and git runs with a temporary, empty
// repository's configuration (--git-dir) over the workspace's objects and
// index. As git then reads none of the workspace's configuration, git's
// dubious-ownership check, which guards against exactly that, is off where
// git works in the workspace's tree (safe.directory=*): the sandbox may run
// the agent as another uid, which then owns the workspace.
//
// The workspace's objects are another matter: git and go-git follow
// .git/objects/info/alternates and symbolic links wherever they point, and
// a workspace that borrowed another repository's mirror could make Push
// send that repository's commits to this one. So Commit and Push first
// check (CheckAlternates) that the workspace borrows from the mirror it was
// checked out from and from nothing else, and refuse to go on otherwise.
//
// # Cancellation
//
// Every git command runs in its own process group, killed as a whole when
// its context is done; lock waits end with the context too. Commit, which
// has no context, bounds itself to 10 minutes.
package gitops
