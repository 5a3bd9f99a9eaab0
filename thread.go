package sesame

// One task per thread. A thread is an issue or a pull request: the tasks with the same installation,
// repository and issue number (> 0). At most one of its run tasks (KindRun) runs at a time, and they
// run in the order they were asked for (created_at, then id); a later one waits in line, holding no
// worker, until every earlier one has ended. Tasks with no issue (the web app, Slack) and commands
// that run no agent (help, usage, status, stop, retry) never wait.

// LinePlace is where a waiting task stands in its thread's line. The zero value means it waits
// behind nothing: it may start.
type LinePlace struct {
	// Behind is the id of the task it waits behind: the one running in the thread, or else the
	// first in line.
	Behind string
	// Position is how many tasks go before it: 1 means it is next.
	Position int
}

// Waiting reports whether the place is behind another task.
func (p LinePlace) Waiting() bool { return p.Position > 0 }
