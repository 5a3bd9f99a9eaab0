// Package agent holds the catalog of the coding-agent CLIs Sesame knows (Catalog: name, npm package and
// pinned version, credentials, domains) and one adapter per CLI it can run: the command line and
// environment that run it headless, the network domains it needs, and a parser that turns its JSON
// stream into normalized events. An adapter only describes the run; the runner starts the process
// inside a sandbox.
package agent

import "encoding/json"

// EventType of a normalized agent event.
type EventType string

const (
	EventSystem     EventType = "system"      // the session started (Model is set)
	EventText       EventType = "text"        // assistant text
	EventToolCall   EventType = "tool_call"   // the agent calls Tool with Input
	EventToolResult EventType = "tool_result" // the outcome of the call with ToolID
	EventUsage      EventType = "usage"       // token usage of a step, for CLIs that report it apart from the result
	EventResult     EventType = "result"      // the final outcome, with Usage
	EventError      EventType = "error"       // the CLI or its model reported an error; Text says what
)

// Usage counts tokens and cost.
type Usage struct {
	InputTokens      int
	OutputTokens     int
	CacheReadTokens  int
	CacheWriteTokens int
	CostUSD          float64
}

// Event is one normalized thing an agent did.
type Event struct {
	Type    EventType
	Text    string          // assistant text, error message, or result summary
	Tool    string          // tool name for tool_call/tool_result
	ToolID  string          // pairs a tool_result with its tool_call
	Input   json.RawMessage // tool_call input
	Output  string          // tool_result content (text)
	IsError bool            // tool_result / result error flag
	Usage   *Usage          // on usage/result
	Model   string          // on system init; on usage, the model the step used when the CLI says
}

// Result is the final outcome of a run, known once the stream has ended.
type Result struct {
	OK      bool   // the CLI reported success; the runner still checks the exit code
	Summary string // the agent's final answer
	Error   string // why the run failed, when !OK
	Usage   Usage
	Turns   int
}

// Options describe one run of an agent.
type Options struct {
	Prompt     string
	Model      string // "" means the CLI's default
	Workdir    string // the checkout, as the process sees it; the runner starts the process there
	Executable string // path of the CLI binary; "" means the adapter's default name, looked up on PATH
	// Credentials holds the settings values the adapter may need, by env name (ANTHROPIC_API_KEY,
	// CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_BASE_URL, ...). Only non-empty values are present.
	Credentials map[string]string
}

// Adapter runs one agent CLI headless.
type Adapter interface {
	Name() string        // short name used in settings and commands, e.g. "claude"
	DisplayName() string // e.g. "Claude Code"
	// Command returns the argv and the environment the CLI needs: its credential, its endpoint and the
	// switches that keep it quiet. It returns nothing else: the sandbox adds HOME, PATH and XDG_*, and the
	// process must run with stdin empty and a wall-clock timeout. The error, when no credential is set,
	// is a *sesame.Error whose message names the setting to set.
	Command(o Options) (argv []string, env map[string]string, err error)
	// Domains returns the network domains (host names, no port) the CLI needs to reach for o: its
	// vendor's API. The sandbox's egress proxy lets the agent reach these on any port.
	Domains(o Options) []string
	// Endpoints returns the "host:port" of each endpoint an operator configured for the CLI in o
	// (a base URL, a gateway): allowed exactly as configured, even on a private address.
	Endpoints(o Options) []string
	// NewParser returns a parser for one run's stdout.
	NewParser() Parser
}

// Parser turns the lines a CLI prints on stdout into events. It is not safe for concurrent use.
type Parser interface {
	// Feed parses one line of stdout into zero or more events. Blank lines, lines that are not JSON and
	// event types the parser does not know give no events; a line that starts like JSON but does not
	// parse gives an error event. The caller may reuse line's memory once Feed returns (the runner
	// does, to keep a line's buffer bounded), so neither the parser nor the events it returns keep a
	// reference to it: they copy what they keep.
	Feed(line []byte) []Event
	// Result is the outcome after the stream ended: OK only if the CLI said it succeeded.
	Result() Result
}
