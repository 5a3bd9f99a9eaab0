package agent

import (
	"net"
	"net/url"
	"strings"

	"github.com/sesame-works/sesame"
)

// Settings and environment variables Claude Code reads.
const (
	envAnthropicAPIKey = "ANTHROPIC_API_KEY"
	envClaudeOAuth     = "CLAUDE_CODE_OAUTH_TOKEN"
	envAnthropicBase   = "ANTHROPIC_BASE_URL"
)

// maxArgLen is the longest single argument Linux passes to a program (MAX_ARG_STRLEN, 32 pages,
// including the terminating NUL). A longer prompt would make exec fail with E2BIG.
const maxArgLen = 32*4096 - 1

// Claude runs Claude Code (npm @anthropic-ai/claude-code; tested with 2.1.197).
type Claude struct{}

var _ Adapter = Claude{}

func (Claude) Name() string        { return "claude" }
func (Claude) DisplayName() string { return "Claude Code" }

// Command returns:
//
//	claude -p --output-format stream-json --verbose --dangerously-skip-permissions [--model M] -- PROMPT
//
// -p (--print) is a switch, not an option taking the prompt: the prompt is the positional argument, and
// it comes after "--" so that a prompt starting with "-" is not read as a flag. stream-json needs
// --verbose. The environment carries one credential (an API key wins over an OAuth token), the endpoint
// when one is set, and the switches below.
func (Claude) Command(o Options) ([]string, map[string]string, error) {
	if strings.TrimSpace(o.Prompt) == "" {
		return nil, nil, sesame.Errorf(sesame.EINVALID, "Claude Code needs a prompt.")
	}
	if len(o.Prompt) > maxArgLen {
		return nil, nil, sesame.Errorf(sesame.ETOOLARGE, "The prompt is too long for Claude Code (%d bytes, at most %d).",
			len(o.Prompt), maxArgLen)
	}
	env := map[string]string{
		// As root, --dangerously-skip-permissions is refused unless the CLI is told it runs in a sandbox.
		"IS_SANDBOX": "1",
		// No update checks, telemetry, error reports or other calls home: the sandbox only lets the model
		// endpoint through, and each blocked call would cost a timeout.
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
		"DISABLE_AUTOUPDATER":                      "1",
		"DISABLE_TELEMETRY":                        "1",
		"DISABLE_ERROR_REPORTING":                  "1",
		// No retries: by default the CLI retries a failing or dead endpoint about ten times with
		// exponential backoff, which holds a task for minutes before it reports anything. A failed call
		// fails the run at once; whether to try the task again is the runner's decision.
		"CLAUDE_CODE_MAX_RETRIES": "0",
	}
	if key := o.Credentials[envAnthropicAPIKey]; key != "" {
		env[envAnthropicAPIKey] = key
	} else if token := o.Credentials[envClaudeOAuth]; token != "" {
		env[envClaudeOAuth] = token
	} else {
		return nil, nil, sesame.Errorf(sesame.EINVALID,
			"Claude Code has no credential: set agents.anthropicApiKey (ANTHROPIC_API_KEY) or "+
				"agents.claudeCodeOauthToken (CLAUDE_CODE_OAUTH_TOKEN) in the settings.")
	}
	if base := o.Credentials[envAnthropicBase]; base != "" {
		env[envAnthropicBase] = base
	}

	exe := o.Executable
	if exe == "" {
		exe = "claude"
	}
	argv := []string{exe, "-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"}
	if o.Model != "" {
		argv = append(argv, "--model", o.Model)
	}
	argv = append(argv, "--", o.Prompt)
	return argv, env, nil
}

// Domains returns api.anthropic.com: Claude Code's API. An ANTHROPIC_BASE_URL is an endpoint (see
// Endpoints), not a domain: only its exact host and port are reachable.
func (Claude) Domains(Options) []string {
	return []string{"api.anthropic.com"}
}

// Endpoints returns ANTHROPIC_BASE_URL's host and port ("llm.example.com:8443"; 443 or 80 by its
// scheme when it names none), when it is set and parses.
func (Claude) Endpoints(o Options) []string {
	if ep := endpoint(o.Credentials[envAnthropicBase]); ep != "" {
		return []string{ep}
	}
	return nil
}

// endpoint is the "host:port" of a base URL an operator configured, or "" when it has none.
func endpoint(base string) string {
	u, err := url.Parse(base)
	if base == "" || err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return ""
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// NewParser returns a parser of Claude Code's stream-json output.
func (Claude) NewParser() Parser {
	return &claudeParser{tools: map[string]string{}}
}
