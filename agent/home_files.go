package agent

// HomeFiler is an adapter whose CLI needs files in its HOME before it starts (a settings file that no
// flag or variable can replace). The runner writes them into the sandbox's own HOME, which no other
// task shares, before the agent starts.
type HomeFiler interface {
	// HomeFiles returns the files by path relative to HOME. Credentials travel in the environment
	// the adapter's Command returns, except a login the CLI reads only from a file (Codex's
	// auth.json): that file goes to the task's own HOME and is gone with it.
	HomeFiles(o Options) (map[string][]byte, error)
}
