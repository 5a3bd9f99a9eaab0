package sesame

import "time"

// What the runner tells the place a request came from (a GitHub comment, a Slack command, the web
// app) about its task. Each origin puts it in its own words; the runner knows none of them.

// RequestDescription is how an origin describes a task's request, in sentences the runner puts in
// the agent's prompt, the commit message and the pull request's body.
type RequestDescription struct {
	// Prompt tells the agent who asked and where, without a final period: "Requested by @octocat
	// on issue #12 of owner/repo".
	Prompt string
	// Commit is the commit message's line about the request: "Requested by @octocat in owner/repo#12."
	Commit string
	// PullRequest is the pull request body's line about the request, before the quoted
	// instruction and without its colon: "Fixes #12 by @octocat".
	PullRequest string
	// GitHubLogin is the requester's GitHub login when the origin knows it, for the commit's author.
	GitHubLogin string
	// Context is what the agent is told of the place the request was made, beyond who asked (the
	// file, lines and diff a review comment is on), as paragraphs; "" when nothing.
	Context string
}

// TaskProgress is where a running task is now.
type TaskProgress struct {
	// Status is preparing, running or pushing.
	Status TaskStatus
	// Step is the agent's latest step, one line ("Bash: npm test"); "" before the agent starts.
	Step string
	// Since is when the task started running (zero before).
	Since time.Time
	// Restarts is how often the task was resumed after its worker died; > 0 says it was.
	Restarts int
}

// TaskReport is how a task ended, for its requester.
type TaskReport struct {
	// Status is completed, failed or stopped.
	Status TaskStatus
	// Reason says why it failed or stopped, in a sentence; "" when completed.
	Reason string
	// BeforeStart says the task ended before it started: stopped while queued, or refused when it
	// was to start (over a budget); Reason says which.
	BeforeStart bool
	// OnlyIfSilent asks the origin to say nothing when the requester already heard of the task (a
	// job run again after its task ended).
	OnlyIfSilent bool
	// Summary is the agent's own last words.
	Summary string
	// NoChanges: the agent finished without changing anything, so there is no pull request.
	NoChanges bool
	// PRNumber and PRURL are the pull request opened; 0 and "" when none.
	PRNumber int
	PRURL    string
	// Branch is the pushed branch; "" when nothing was pushed.
	Branch string
	// OnPullRequest: the task worked on the existing pull request PRNumber and pushed to its branch
	// rather than opening one. Commits are the commits it pushed there (full hashes), when known;
	// Rebased says they were replayed onto the branch's head, which moved during the run.
	OnPullRequest bool
	Commits       []string
	Rebased       bool
	// Notes are sentences Sesame adds about the run (the sandbox's blocks, restarts), markdown.
	Notes []string
	// Facts is the run's facts on one line (agent, model, duration, tokens, cost), markdown.
	Facts string
	// CostUSD is what the run cost: as the agent reported it, or its tokens at the listed prices
	// (tasks.modelPrices); 0 when unknown.
	CostUSD float64
	// Duration is how long the task ran.
	Duration time.Duration
	// Text answers a command that runs no agent (status, stop, retry): markdown ([label](url),
	// **bold**, `code`, lists) that the origin posts as it is, or in its own markup.
	Text string
}
