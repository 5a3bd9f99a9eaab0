package sesame

// NamingRequest is what the utility model (AI_BASE_URL, AI_MODEL) is told of a task so that it names
// the task's branch and writes its commit message and pull request title. Whoever fills it passes every
// text through the task's masker first: it leaves the server.
type NamingRequest struct {
	Repo        string // "owner/name"
	Issue       int    // the issue or pull request the request was made on; 0 for none (the web app)
	Instruction string // what the requester asked
	// Diff is the change the task commits, as `git diff` prints it; "" when asking for a branch name,
	// which is chosen before the agent runs. It may be cut short; the utility model's client bounds it.
	Diff string
}

// ChangeNames is how a task's change is named: its commit message and its pull request title.
type ChangeNames struct {
	Subject string // the commit's subject: one line, at most 72 characters
	Body    string // the commit's body: paragraphs, or "" for none
	Title   string // the pull request's title: one line
}
