package admin

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// Tool output longer than this many bytes or lines is shown collapsed.
const (
	collapseBytes = 600
	collapseLines = 8
)

// eventView is one task event as the task page shows it.
type eventView struct {
	ID      int64
	Kind    string // css class and what the row is: status, step, reply, violation, text, tool_call, tool_result, error, result, system, usage
	Time    time.Time
	Title   string // a short label: the status, the tool's name, "Agent"
	Tag     string // a word beside the label (a violation's kind: network, filesystem)
	Body    string // one line or a paragraph, shown as is
	Detail  string // long content (tool input or output), shown preformatted
	Long    bool   // Detail is shown collapsed
	IsError bool
	Link    string // a URL to offer (the pull request)
}

// viewEvent turns a stored event into what the page shows.
func viewEvent(e sesame.TaskEvent) eventView {
	v := eventView{ID: e.ID, Kind: e.Type, Time: e.CreatedAt, Body: e.Message}
	switch e.Type {
	case sesame.EventStatus:
		v.Title = "Status"
		v.Body = e.Message
		if reason, _ := e.Data["reason"].(string); reason != "" {
			v.Body += " — " + reason
		}
		v.IsError = e.Message == string(sesame.StatusFailed)
	case sesame.EventStep:
		v.Title = "Sesame"
		if u, _ := e.Data["url"].(string); u != "" && strings.HasPrefix(u, "http") {
			v.Link = u
		}
		if b, _ := e.Data["branch"].(string); b != "" && e.Message != "pull request opened" {
			v.Body += " · " + b
		}
	case sesame.EventSandbox:
		v = viewSandboxEvent(v, e)
	case sesame.EventViolation:
		v = viewViolation(v, e)
	case sesame.EventReply:
		v.Title = "Reply"
	case sesame.EventAgent:
		v = viewAgentEvent(v, e)
	case sesame.EventSetup:
		v.Title = "Setup"
		v.IsError = e.Data["status"] == "failed"
	case sesame.EventPreview:
		v.Title = "Preview"
	default:
		v.Title = e.Type
	}
	return v
}

// viewSandboxEvent shows how the sandbox was set up as one of Sesame's steps.
func viewSandboxEvent(v eventView, e sesame.TaskEvent) eventView {
	v.Kind, v.Title = sesame.EventStep, "Sesame"
	if p, _ := e.Data["provider"].(string); p != "" {
		v.Body += " · " + p + " sandbox"
	}
	if domains := stringList(e.Data["allowed_domains"]); sandboxOn(e) && len(domains) > 0 {
		v.Detail = "allowed domains: " + strings.Join(domains, ", ")
	}
	return v
}

// stringList reads a list of strings from event data: []any once it went through JSON, []string
// before.
func stringList(x any) []string {
	switch l := x.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// viewViolation shows something the sandbox refused: what was tried, on what, and the rule that
// refused it. It is a warning, not an error: the task goes on.
func viewViolation(v eventView, e sesame.TaskEvent) eventView {
	v.Title = "Blocked"
	v.Tag, _ = e.Data["kind"].(string)
	target, _ := e.Data["target"].(string)
	access, _ := e.Data["access"].(string)
	if target != "" {
		v.Body = strings.TrimSpace(access + " " + target)
	}
	if reason, _ := e.Data["reason"].(string); reason != "" {
		v.Body += " — " + reason
	}
	return v
}

func viewAgentEvent(v eventView, e sesame.TaskEvent) eventView {
	kind, _ := e.Data["kind"].(string)
	v.Kind = kind
	v.IsError, _ = e.Data["is_error"].(bool)
	switch kind {
	case "text":
		v.Title = "Agent"
	case "tool_call":
		v.Title, _ = e.Data["tool"].(string)
		v.Body, v.Detail = describeInput(e.Data["input"])
	case "tool_result":
		v.Title = "Result"
		if v.IsError {
			v.Title = "Error"
		}
		v.Body = ""
		v.Detail, _ = e.Data["output"].(string)
		if v.Detail == "" {
			v.Detail = e.Message
		}
	case "result":
		v.Title = "Finished"
		if u, ok := e.Data["usage"].(map[string]any); ok {
			v.Detail = fmt.Sprintf("%v tokens in, %v out, $%v", u["input_tokens"], u["output_tokens"], u["cost_usd"])
		}
	case "system":
		v.Title = "Agent started"
		if m, _ := e.Data["model"].(string); m != "" {
			v.Body = "model " + m
		}
	case "error":
		v.Title, v.IsError = "Error", true
	case "usage":
		v.Title = "Usage"
	default:
		v.Title = kind
	}
	v.Long = len(v.Detail) > collapseBytes || strings.Count(v.Detail, "\n") >= collapseLines
	return v
}

// describeInput shows a tool call's input: its most telling field on one line (the command, the file),
// and the whole input as indented JSON when there is more to it.
func describeInput(input any) (summary, detail string) {
	m, ok := input.(map[string]any)
	if !ok {
		if input == nil {
			return "", ""
		}
		b, _ := json.MarshalIndent(input, "", "  ")
		return "", string(b)
	}
	for _, k := range []string{"command", "file_path", "path", "pattern", "url", "description"} {
		if s, ok := m[k].(string); ok && s != "" {
			summary = s
			break
		}
	}
	if len(m) > 1 || summary == "" {
		b, _ := json.MarshalIndent(m, "", "  ")
		detail = string(b)
	}
	if i := strings.IndexByte(summary, '\n'); i >= 0 {
		summary = summary[:i] + " …"
	}
	return summary, detail
}

var funcs = template.FuncMap{
	"eventView":  viewEvent,
	"final":      func(s sesame.TaskStatus) bool { return s.Final() },
	"duration":   formatDuration,
	"when":       func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"sourceName": sourceName,
	"firstLine":  firstLine,
	"cost":       func(c float64) string { return fmt.Sprintf("$%.4f", c) },
	"now":        func() time.Time { return now() },
	"blocked":    blockedActions,
	"list":       func(items ...string) []string { return items },
	"hasPrefix":  strings.HasPrefix,
}

func sourceName(s sesame.Source) string {
	switch s {
	case sesame.SourceGitHub:
		return "GitHub"
	case sesame.SourceSlack:
		return "Slack"
	case sesame.SourceWeb:
		return "Web"
	}
	return string(s)
}

func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	return s
}
