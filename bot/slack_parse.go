package bot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-works/sesame/command"
)

// What a /sesame slash command asks, read from its text (what follows "/sesame"):
//
//	/sesame help                                       the usage text
//	/sesame repo                                       the channel's default repository
//	/sesame repo owner/name                            makes owner/name the channel's default
//	/sesame owner/name <instruction> [--agent A] [--model M]
//	/sesame <instruction> [--agent A] [--model M]      on the channel's default repository
//
// The first line goes through command.Parse as the line "/sesame <text>": the same flags, quoting
// and checks as a GitHub comment. Unlike a comment, the lines after it are all instruction (a
// slash command is one message, with no quotes or code blocks to skip). A first word shaped like
// owner/name is the repository when Sesame's GitHub App reaches one of that name; otherwise it is
// the instruction's first word.

// slashKind is what a slash command asks.
type slashKind int

const (
	slashHelp slashKind = iota
	slashShowRepo
	slashSetRepo
	slashRun
)

// slashRequest is a parsed slash command.
type slashRequest struct {
	kind slashKind
	// repo is the repository named: for slashSetRepo the new default; for slashRun the first word
	// when it is shaped like owner/name (it may still be the instruction's first word, see rest).
	repo string
	// instruction is what the agent should do, with repo removed; rest is the same with repo kept,
	// for when repo turns out to be no repository.
	instruction, rest string
	agent, model      string
	budget            float64 // --budget, in US dollars; 0 when not given
}

// repoShape is what an owner/name looks like on GitHub.
var repoShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)

// parseSlash reads a slash command's text as Slack sent it (with &, < and > escaped). A text that
// cannot be read returns a *command.UsageError.
func parseSlash(text string) (slashRequest, error) {
	text = strings.TrimSpace(slackUnescape(text))
	first, more, _ := strings.Cut(text, "\n")
	words := strings.Fields(first)
	switch {
	case text == "":
		return slashRequest{kind: slashHelp}, nil
	case strings.EqualFold(words[0], "repo") && len(words) <= 2 && more == "":
		if len(words) == 1 {
			return slashRequest{kind: slashShowRepo}, nil
		}
		if !repoShape.MatchString(words[1]) {
			return slashRequest{}, &command.UsageError{Reason: fmt.Sprintf("%q is not a repository: write it as owner/name", shorten(words[1]))}
		}
		return slashRequest{kind: slashSetRepo, repo: words[1]}, nil
	}
	for _, r := range more {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return slashRequest{}, &command.UsageError{Reason: fmt.Sprintf("the command contains an invisible control character (%U); remove it and try again", r)}
		}
	}
	cmd, _, err := command.Parse("/sesame " + first)
	if err != nil {
		return slashRequest{}, err
	}
	if cmd.Kind == command.KindHelp && more == "" {
		return slashRequest{kind: slashHelp}, nil
	}
	req := slashRequest{kind: slashRun, agent: cmd.Agent, model: cmd.Model, budget: cmd.Budget}
	line := cmd.Instruction
	if cmd.Kind == command.KindHelp {
		line = "help"
	}
	req.rest = strings.TrimSpace(line + "\n" + more)
	if word, after, _ := strings.Cut(line, " "); repoShape.MatchString(word) {
		req.repo = word
		req.instruction = strings.TrimSpace(after + "\n" + more)
	} else {
		req.instruction = req.rest
	}
	if n := utf8.RuneCountInString(req.rest); n > 8000 {
		return slashRequest{}, &command.UsageError{Reason: fmt.Sprintf("the instruction is too long: %d characters, the limit is 8000", n)}
	}
	return req, nil
}

// errNoInstruction is the usage error of a command that names a repository and nothing to do.
var errNoInstruction = &command.UsageError{Reason: "no instruction given"}

// usageReason is the reason of a usage error, or its text.
func usageReason(err error) string {
	var u *command.UsageError
	if errors.As(err, &u) {
		return u.Reason
	}
	return err.Error()
}

// slackUnescape undoes the escaping of Slack's message text: &amp; &lt; &gt;.
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}
