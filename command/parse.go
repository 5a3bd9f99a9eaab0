package command

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kballard/go-shellquote"

	sesame "github.com/sesame-works/sesame"
)

// Kind of a parsed command.
type Kind string

const (
	KindRun    Kind = "run"    // /sesame <instruction> [--agent NAME] [--model NAME] [--base BRANCH] [--budget USD]
	KindHelp   Kind = "help"   // /sesame help
	KindStatus Kind = "status" // /sesame status
	KindStop   Kind = "stop"   // /sesame stop
	KindRetry  Kind = "retry"  // /sesame retry [--agent NAME] [--model NAME] [--base BRANCH]
)

// commands are the command words, in the order "did you mean" prefers them.
var commands = []Kind{KindHelp, KindStatus, KindStop, KindRetry}

// Command is a parsed /sesame command.
type Command struct {
	Kind        Kind
	Instruction string // the instruction text, for KindRun; flags removed, the user's wording kept
	Agent       string // from --agent, in lower case; "" when absent (KindRun, KindRetry)
	Model       string // from --model; "" when absent (KindRun, KindRetry)
	Base        string // from --base, the branch to start from; "" when absent (KindRun, KindRetry)
	// Budget is from --budget: the most the task may spend, in US dollars (> 0, at most two
	// decimals); 0 when absent (KindRun, KindRetry). Whether the server allows that much is the
	// runner's to check when the task starts.
	Budget float64
}

// UsageError is returned when a comment does contain a /sesame line but it
// cannot be parsed. Reason is short and human-readable, meant to be shown to
// the user above [Usage]. User text in it is quoted and shortened.
type UsageError struct{ Reason string }

func (e *UsageError) Error() string { return e.Reason }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Reason: fmt.Sprintf(format, args...)}
}

const (
	keyword         = "/sesame"
	maxInstruction  = 8000 // runes
	flagAgent       = "--agent"
	flagModel       = "--model"
	flagBase        = "--base"
	flagBudget      = "--budget"
	endOfFlags      = "--"
	maxQuotedLength = 40 // runes of user text repeated in a Reason
)

// Parse finds the first /sesame command in a comment body.
// ok is false (and err nil) when the body holds no command at all: nothing to do.
// It returns (cmd, true, nil) for a valid command and (zero, true, *UsageError)
// for a bad one. The package documentation describes the grammar.
func Parse(body string) (cmd Command, ok bool, err error) {
	rest, more, found := findCommand(splitLines(body))
	if !found {
		return Command{}, false, nil
	}
	if r, ok := controlChar(body); ok {
		return Command{}, true, usageErrorf("the comment contains an invisible control character (%U); remove it and post the command again", r)
	}
	cmd, err = parseCommand(rest, more)
	if err != nil {
		return Command{}, true, err
	}
	return cmd, true, nil
}

// parseCommand reads the flags and instruction from the rest of the /sesame
// line and the lines of its paragraph that follow.
func parseCommand(rest string, more []string) (Command, error) {
	var cmd Command
	var words []string
	seen := map[string]bool{}
	toks := tokenize(rest)
	for i := 0; i < len(toks); i++ {
		word := unquote(toks[i])
		if word == endOfFlags {
			words = append(words, toks[i+1:]...)
			break
		}
		if !isFlag(word) {
			words = append(words, toks[i])
			continue
		}
		name, value, hasValue := strings.Cut(word, "=")
		if name != flagAgent && name != flagModel && name != flagBase && name != flagBudget {
			return Command{}, unknownFlag(word, name)
		}
		if seen[name] {
			return Command{}, usageErrorf("flag %s is given more than once", name)
		}
		seen[name] = true
		if !hasValue {
			if i+1 == len(toks) || isFlag(unquote(toks[i+1])) {
				return Command{}, usageErrorf("flag %s needs a value", name)
			}
			i++
			value = unquote(toks[i])
		}
		value = strings.TrimSpace(value)
		if value == "" {
			return Command{}, usageErrorf("flag %s needs a value", name)
		}
		switch name {
		case flagModel:
			if err := sesame.CheckModel(value); err != nil {
				return Command{}, &UsageError{Reason: err.Error()}
			}
			cmd.Model = value
			continue
		case flagBase:
			if err := sesame.CheckBranch(value); err != nil {
				return Command{}, &UsageError{Reason: err.Error()}
			}
			cmd.Base = value
			continue
		case flagBudget:
			budget, err := sesame.ParseUSD(value)
			if err != nil {
				return Command{}, usageErrorf("flag --budget: %v", err)
			}
			if budget <= 0 {
				return Command{}, usageErrorf("flag --budget needs an amount greater than 0, such as 2.50")
			}
			cmd.Budget = budget
			continue
		}
		name, bad := checkAgent(value)
		if bad != nil {
			return Command{}, bad
		}
		cmd.Agent = name
	}

	lines := more
	if first := strings.Join(words, " "); first != "" {
		lines = append([]string{first}, more...)
	}
	instruction := strings.TrimSpace(strings.Join(lines, "\n"))
	switch n := utf8.RuneCountInString(instruction); {
	case n == 0:
		return Command{}, usageErrorf("no instruction given")
	case n > maxInstruction:
		return Command{}, usageErrorf("the instruction is too long: %d characters, the limit is %d", n, maxInstruction)
	}
	if kind, ok := commandWord(instruction); ok {
		switch kind {
		case KindRetry: // runs again, with these flags
			return Command{Kind: KindRetry, Agent: cmd.Agent, Model: cmd.Model, Base: cmd.Base, Budget: cmd.Budget}, nil
		default: // the flags were checked; they say nothing here
			return Command{Kind: kind}, nil
		}
	}
	if near, ok := nearCommand(instruction); ok {
		return Command{}, usageErrorf("unknown command %s; did you mean %s?", quoteShort(instruction), near)
	}
	cmd.Kind = KindRun
	cmd.Instruction = instruction
	return cmd, nil
}

// controlChar returns the first control character in s other than tab, line feed and carriage return:
// C0 (NUL, ESC, ...), DEL or C1. No one types them; a NUL cannot go on a command line or into
// PostgreSQL text, so it would cut the instruction short further on, and the others drive terminals.
func controlChar(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return r, true
		}
	}
	return 0, false
}

// unknownFlag is the usage error for word, a flag named name that Sesame does not know, with the
// flag it may have meant.
func unknownFlag(word, name string) error {
	if word == "--help" || word == "-h" {
		return usageErrorf("unknown flag %s (for help, write /sesame help)", quoteShort(word))
	}
	if near, ok := nearFlag(name); ok {
		return usageErrorf("unknown flag %s; did you mean %s?", quoteShort(word), near)
	}
	return usageErrorf("unknown flag %s", quoteShort(word))
}

// isFlag reports whether an unquoted word looks like a flag: "--" and more,
// or a dash followed by an ASCII letter ("-v"). A lone "-" or "-1" is text.
func isFlag(word string) bool {
	if strings.HasPrefix(word, "--") {
		return true
	}
	return len(word) >= 2 && word[0] == '-' && isASCIILetter(word[1])
}

// tokenize splits the rest of a /sesame line into words, each exactly as
// written. Words end at white space outside quotes, as in a shell, except that
// a single quote opens a quoted string only at the start of a word or after
// '=', so that apostrophes ("don't") stay letters. If a quote is left open,
// tokenize splits on white space alone.
func tokenize(s string) []string {
	var words []string
	i := 0
	for {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		if i == len(s) {
			return words
		}
		start := i
		var quote rune
	word:
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			switch {
			case quote == '\'':
				if r == '\'' {
					quote = 0
				}
			case quote == '"':
				if r == '\\' && i < len(s) {
					_, n = utf8.DecodeRuneInString(s[i:])
					i += n
				} else if r == '"' {
					quote = 0
				}
			case r == '\\':
				if i < len(s) {
					_, n = utf8.DecodeRuneInString(s[i:])
					i += n
				}
			case r == '"':
				quote = r
			case r == '\'' && (i-n == start || s[i-n-1] == '='):
				quote = r
			case unicode.IsSpace(r):
				i -= n
				break word
			}
		}
		if quote != 0 {
			return strings.Fields(s)
		}
		words = append(words, s[start:i])
	}
}

// unquote returns the value of a word as a shell would see it, or the word as
// written when it is not valid shell (an apostrophe in "don't").
func unquote(word string) string {
	if !strings.ContainsAny(word, `"'\`) {
		return word
	}
	values, err := shellquote.Split(word)
	if err != nil || len(values) != 1 {
		return word
	}
	return values[0]
}

// quoteShort quotes user text for a Reason, cut to a readable length.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > maxQuotedLength {
		s = string([]rune(s)[:maxQuotedLength]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

func equalFoldASCII(s, ascii string) bool {
	if len(s) != len(ascii) {
		return false
	}
	for i := range len(s) {
		if toLowerASCII(s[i]) != toLowerASCII(ascii[i]) {
			return false
		}
	}
	return true
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCIILetter(c byte) bool {
	c = toLowerASCII(c)
	return 'a' <= c && c <= 'z'
}
