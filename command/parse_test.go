package command

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sesame-works/sesame/agent"
)

// result is what Parse returns, in a form cmp can compare.
type result struct {
	Cmd    Command
	OK     bool
	Reason string // of the *UsageError, "" for none
}

func run(instruction string) result {
	return result{Cmd: Command{Kind: KindRun, Instruction: instruction}, OK: true}
}

func runWith(instruction, agent, model string) result {
	return result{Cmd: Command{Kind: KindRun, Instruction: instruction, Agent: agent, Model: model}, OK: true}
}

func runOn(instruction, base string) result {
	return result{Cmd: Command{Kind: KindRun, Instruction: instruction, Base: base}, OK: true}
}

func retryWith(agent, model, base string) result {
	return result{Cmd: Command{Kind: KindRetry, Agent: agent, Model: model, Base: base}, OK: true}
}

func usage(reason string) result { return result{OK: true, Reason: reason} }

const nulReason = "the comment contains an invisible control character (U+0000); remove it and post the command again"

var (
	none   = result{}
	help   = result{Cmd: Command{Kind: KindHelp}, OK: true}
	status = result{Cmd: Command{Kind: KindStatus}, OK: true}
	stop   = result{Cmd: Command{Kind: KindStop}, OK: true}
	retry  = result{Cmd: Command{Kind: KindRetry}, OK: true}
)

// parseTests is shared with FuzzParse as its seed corpus.
var parseTests = []struct {
	name string
	body string
	want result
}{
	// Finding the command.
	{"empty body", "", none},
	{"no command", "LGTM, thanks!", none},
	{"simple", "/sesame fix the typo", run("fix the typo")},
	{"after other text", "Thanks!\n/sesame fix the typo", run("fix the typo")},
	{"leading spaces", "   /sesame fix the typo", run("fix the typo")},
	{"four spaces is a code block", "    /sesame fix the typo", none},
	{"tab is a code block", "\t/sesame fix the typo", none},
	{"space then tab is a code block", " \t/sesame fix the typo", none},
	{"mid-line mention", "please /sesame fix the typo", none},
	{"list item", "- /sesame fix the typo", none},
	{"inline code", "`/sesame fix the typo`", none},
	{"longer word", "/sesamefoo fix", none},
	{"hyphenated word", "/sesame-bot fix", none},
	{"punctuation after keyword", "/sesame: fix", none},
	{"no slash", "sesame fix the typo", none},
	{"upper case", "/SESAME fix the typo", run("fix the typo")},
	{"title case", "/Sesame fix the typo", run("fix the typo")},
	{"non-ASCII fold is not the keyword", "/ſesame fix", none},
	{"tab after keyword", "/sesame\tfix the typo", run("fix the typo")},
	{"no-break space after keyword", "/sesame\u00a0fix the typo", run("fix the typo")},
	{"first command wins", "/sesame fix a\n\n/sesame fix b", run("fix a")},
	{"bare keyword", "/sesame", usage("no instruction given")},
	{"keyword and spaces", "/sesame   \t ", usage("no instruction given")},
	{"bad command still reports ok", "/sesame --foo\n\n/sesame fix b", usage(`unknown flag "--foo"`)},

	// Blockquotes.
	{"quoted", "> /sesame fix the typo", none},
	{"quoted with spaces", "  > /sesame fix the typo", none},
	{"quoted without space", ">/sesame fix the typo", none},
	{"nested quote", "> > /sesame fix the typo", none},
	{"quote then command", "> /sesame fix a\n\n/sesame fix b", run("fix b")},
	{"lazy continuation after a quote fires", "> earlier text\n/sesame fix b", run("fix b")},

	// Fenced code blocks.
	{"backtick fence", "```\n/sesame fix a\n```", none},
	{"tilde fence", "~~~\n/sesame fix a\n~~~", none},
	{"fence with info string", "```bash\n/sesame fix a\n```\n/sesame fix b", run("fix b")},
	{"after fence closes", "```\ncode\n```\n/sesame fix b", run("fix b")},
	{"unclosed fence runs to the end", "```\n/sesame fix a\n\n/sesame fix b", none},
	{"longer closing fence closes", "```\n/sesame fix a\n`````\n/sesame fix b", run("fix b")},
	{"shorter fence does not close", "````\n```\n/sesame fix a\n````\n/sesame fix b", run("fix b")},
	{"other fence char does not close", "```\n~~~\n/sesame fix a\n```\n/sesame fix b", run("fix b")},
	{"closing fence with text does not close", "```\n``` no\n/sesame fix a", none},
	{"indented fence", "  ```\n/sesame fix a\n  ```\n/sesame fix b", run("fix b")},
	{"fence indented four is not a fence", "    ```\n/sesame fix a", run("fix a")},
	{"two backticks are not a fence", "``\n/sesame fix a", run("fix a")},
	{"backticks in info string are inline code", "```x```\n/sesame fix a", run("fix a")},
	{"tilde fence may have backticks", "~~~ `x`\n/sesame fix a\n~~~", none},
	{"fence inside a quote", "> ```\n/sesame fix a", run("fix a")},

	// HTML comments.
	{"html comment", "<!--\n/sesame fix a\n-->", none},
	{"one-line html comment", "<!-- note -->\n/sesame fix a", run("fix a")},
	{"after html comment", "<!-- note\n/sesame fix a\nend -->\n/sesame fix b", run("fix b")},

	// The instruction paragraph.
	{"multi-line", "/sesame fix the typo\nin the README header", run("fix the typo\nin the README header")},
	{"paragraph ends at blank line", "/sesame fix the typo\nin the README\n\nThanks!", run("fix the typo\nin the README")},
	{"paragraph ends at white space line", "/sesame fix\nit\n \t\nThanks!", run("fix\nit")},
	{"instruction on next lines", "/sesame\nfix the typo\nin the README", run("fix the typo\nin the README")},
	{"instruction after blank line is not read", "/sesame\n\nfix the typo", usage("no instruction given")},
	{"following lines kept as written", "/sesame fix:\n  - the  \"title\"\n  - don't", run("fix:\n  - the  \"title\"\n  - don't")},
	{"flags on following lines are text", "/sesame fix\n--agent codex", run("fix\n--agent codex")},
	{"paragraph ends at fence", "/sesame fix this\n```go\nx := 1\n```", run("fix this")},
	{"paragraph ends at quote", "/sesame fix this\n> quoted", run("fix this")},
	{"paragraph ends at html comment", "/sesame fix this\n<!-- hidden -->", run("fix this")},
	{"paragraph ends at next command", "/sesame fix a\n/sesame fix b", run("fix a")},
	{"indented following line kept", "/sesame fix a\n    /sesame fix b", run("fix a\n    /sesame fix b")},
	{"trailing spaces trimmed", "/sesame fix a  \nand b  \nc   ", run("fix a\nand b  \nc")},
	{"words joined with single spaces", "/sesame   fix \t the   typo  ", run("fix the typo")},

	// Help.
	{"help", "/sesame help", help},
	{"help upper case", "/SESAME HELP", help},
	{"help with spaces", "  /sesame   help  ", help},
	{"help on next line", "/sesame\nhelp", help},
	{"help with flags", "/sesame help --agent claude", help},
	{"help with a bad flag", "/sesame help --foo", usage(`unknown flag "--foo"`)},
	{"help me is an instruction", "/sesame help me fix the login", run("help me fix the login")},
	{"help with punctuation is a typo", "/sesame help!", usage(`unknown command "help!"; did you mean help?`)},
	{"help with punctuation and words is an instruction", "/sesame help! the login fails", run("help! the login fails")},
	{"help with more lines is an instruction", "/sesame help\nwith the login", run("help\nwith the login")},

	// Status, stop and retry.
	{"status", "/sesame status", status},
	{"status upper case", "/sesame STATUS", status},
	{"status mixed case on next line", "/sesame\nStatus", status},
	{"status with flags", "/sesame status --agent claude --base main", status},
	{"status with a bad flag", "/sesame status --turbo", usage(`unknown flag "--turbo"`)},
	{"four letters two edits away", "/sesame status --fast", usage(`unknown flag "--fast"; did you mean --base?`)},
	{"status of the build is an instruction", "/sesame status of the build is wrong, fix it", run("status of the build is wrong, fix it")},
	{"stop", "/sesame stop", stop},
	{"stop in any case", "/sesame sToP", stop},
	{"stop quoted never fires", "> /sesame stop", none},
	{"stop in a fence never fires", "```\n/sesame stop\n```", none},
	{"stop with flags", "/sesame stop --model o3", stop},
	{"stop with more lines is an instruction", "/sesame stop\nlogging the token", run("stop\nlogging the token")},
	{"stop logging is an instruction", "/sesame stop logging the token", run("stop logging the token")},
	{"stop with punctuation is a typo", "/sesame stop!", usage(`unknown command "stop!"; did you mean stop?`)},
	{"retry", "/sesame retry", retry},
	{"retry upper case", "/sesame RETRY", retry},
	{"retry with an agent", "/sesame retry --agent CLAUDE", retryWith("claude", "", "")},
	{"retry with a model", "/sesame retry --model=claude-opus-4", retryWith("", "claude-opus-4", "")},
	{"retry with every flag", "/sesame --base dev retry --model o3 --agent claude", retryWith("claude", "o3", "dev")},
	{"retry with a bad model", "/sesame retry --model=-x", usage(`a model name must start with a letter or a digit; "-x" starts with "-"`)},
	{"retry with an unknown agent", "/sesame retry --agent gpt", usage(`unknown agent "gpt" (known agents: ` + strings.Join(Agents(), ", ") + ")")},
	{"retry the tests is an instruction", "/sesame retry the flaky tests", run("retry the flaky tests")},
	{"command word after double dash", "/sesame -- stop", stop},

	// Did you mean a command?
	{"status typo", "/sesame stauts", usage(`unknown command "stauts"; did you mean status?`)},
	{"status missing letter", "/sesame statu", usage(`unknown command "statu"; did you mean status?`)},
	{"stop transposed", "/sesame stpo", usage(`unknown command "stpo"; did you mean stop?`)},
	{"stop typo upper case", "/sesame STPO", usage(`unknown command "STPO"; did you mean stop?`)},
	{"retry typo", "/sesame rerty", usage(`unknown command "rerty"; did you mean retry?`)},
	{"retry two edits", "/sesame retyr", usage(`unknown command "retyr"; did you mean retry?`)},
	{"help typo", "/sesame hlep", usage(`unknown command "hlep"; did you mean help?`)},
	{"help with a typo and flags", "/sesame halp --agent claude", usage(`unknown command "halp"; did you mean help?`)},
	{"tie prefers status", "/sesame stat", usage(`unknown command "stat"; did you mean status?`)},
	{"non-ASCII typo", "/sesame stöp", usage(`unknown command "stöp"; did you mean stop?`)},
	{"three edits is an instruction", "/sesame refactor", run("refactor")},
	{"far word is an instruction", "/sesame deploy", run("deploy")},
	{"two words near a command are an instruction", "/sesame stop it", run("stop it")},
	{"typo on two lines is an instruction", "/sesame stpo\nnow", run("stpo\nnow")},

	// Flags.
	{"agent", "/sesame --agent claude fix it", runWith("fix it", "claude", "")},
	{"agent with equals", "/sesame --agent=claude fix it", runWith("fix it", "claude", "")},
	{"agent at the end", "/sesame fix it --agent claude", runWith("fix it", "claude", "")},
	{"agent in the middle", "/sesame fix --agent claude it", runWith("fix it", "claude", "")},
	{"agent case", "/sesame --agent ClAuDe fix it", runWith("fix it", "claude", "")},
	{"agent quoted", `/sesame --agent "claude" fix it`, runWith("fix it", "claude", "")},
	{"agent quoted after equals", `/sesame --agent='claude' fix it`, runWith("fix it", "claude", "")},
	{"model", "/sesame --model gpt-5 fix it", runWith("fix it", "", "gpt-5")},
	{"model with equals", "/sesame --model=gpt-5 fix it", runWith("fix it", "", "gpt-5")},
	{"model double-quoted", `/sesame --model "gpt-5" fix it`, runWith("fix it", "", "gpt-5")},
	{"model single-quoted", `/sesame --model 'gpt-5' fix it`, runWith("fix it", "", "gpt-5")},
	{"model quoted after equals", `/sesame --model="gpt-5" fix it`, runWith("fix it", "", "gpt-5")},
	{"model keeps case", "/sesame --model Claude-Opus-4 fix it", runWith("fix it", "", "Claude-Opus-4")},
	{"both flags", "/sesame --agent claude --model o3 fix it", runWith("fix it", "claude", "o3")},
	{"both flags after", "/sesame fix it --model=o3 --agent=claude", runWith("fix it", "claude", "o3")},
	{"flags with apostrophes", "/sesame don't break the user's API --model 'gpt-5'", runWith("don't break the user's API", "", "gpt-5")},
	{"model of Bedrock", "/sesame fix it --model us.anthropic.claude-3-7-sonnet-20250219-v1:0",
		runWith("fix it", "", "us.anthropic.claude-3-7-sonnet-20250219-v1:0")},
	{"model of a gateway", "/sesame fix it --model=openrouter/anthropic/claude-3.5-sonnet", runWith("fix it", "", "openrouter/anthropic/claude-3.5-sonnet")},
	{"model at the length limit", "/sesame fix it --model " + strings.Repeat("m", 200), runWith("fix it", "", strings.Repeat("m", 200))},
	{"flags and next lines", "/sesame --agent claude\nfix the typo", runWith("fix the typo", "claude", "")},
	{"double dash ends flags", "/sesame --agent claude -- make -v print --version", runWith("make -v print --version", "claude", "")},
	{"double dash first", "/sesame -- --agent codex is a flag", run("--agent codex is a flag")},
	{"only the first double dash is removed", "/sesame a -- b -- c", run("a b -- c")},
	{"lone dash is text", "/sesame fix this - it crashes", run("fix this - it crashes")},
	{"negative number is text", "/sesame set the offset to -1", run("set the offset to -1")},
	{"dash inside a word is text", "/sesame make it CLI-based", run("make it CLI-based")},
	{"em dash is text", "/sesame fix this — it crashes", run("fix this — it crashes")},

	// Bad flags.
	{"unknown flag", "/sesame --foo fix it", usage(`unknown flag "--foo"`)},
	{"unknown flag with value", "/sesame --foo=bar fix it", usage(`unknown flag "--foo=bar"`)},
	{"unknown short flag", "/sesame run the tests with -race", usage(`unknown flag "-race"`)},
	{"short flag", "/sesame -a codex fix it", usage(`unknown flag "-a"`)},
	{"help flag", "/sesame --help", usage(`unknown flag "--help" (for help, write /sesame help)`)},
	{"flag names are case-sensitive", "/sesame --Agent codex fix", usage(`unknown flag "--Agent"; did you mean --agent?`)},
	{"triple dash", "/sesame fix it --- now", usage(`unknown flag "---"`)},
	{"quoted flag is a flag", `/sesame fix "--foo"`, usage(`unknown flag "--foo"`)},
	{"long unknown flag is shortened", "/sesame --" + strings.Repeat("x", 60), usage(`unknown flag "--` + strings.Repeat("x", 38) + `…"`)},
	{"agent without value", "/sesame fix it --agent", usage("flag --agent needs a value")},
	{"agent followed by flag", "/sesame fix it --agent --model o3", usage("flag --agent needs a value")},
	{"agent followed by double dash", "/sesame --agent -- fix it", usage("flag --agent needs a value")},
	{"agent empty after equals", "/sesame --agent= fix it", usage("flag --agent needs a value")},
	{"agent empty quoted", `/sesame --agent "" fix it`, usage("flag --agent needs a value")},
	{"model without value", "/sesame fix it --model", usage("flag --model needs a value")},
	{"model blank", `/sesame --model "  " fix it`, usage("flag --model needs a value")},
	{"agent repeated", "/sesame --agent claude --agent claude fix", usage("flag --agent is given more than once")},
	{"model repeated", "/sesame --model=a fix --model b", usage("flag --model is given more than once")},
	{"unknown agent", "/sesame --agent gpt fix it", usage(`unknown agent "gpt" (known agents: ` + strings.Join(Agents(), ", ") + ")")},
	{"flags only", "/sesame --agent claude", usage("no instruction given")},

	// Did you mean a flag?
	{"agent transposed", "/sesame --agnet claude fix it", usage(`unknown flag "--agnet"; did you mean --agent?`)},
	{"agent typo with value", "/sesame --agnt=claude fix it", usage(`unknown flag "--agnt=claude"; did you mean --agent?`)},
	{"agent with one dash", "/sesame -agent claude fix it", usage(`unknown flag "-agent"; did you mean --agent?`)},
	{"model missing letter", "/sesame --mode o3 fix it", usage(`unknown flag "--mode"; did you mean --model?`)},
	{"model two edits", "/sesame fix it --modle=o3", usage(`unknown flag "--modle=o3"; did you mean --model?`)},
	{"base typo", "/sesame --bsae dev fix it", usage(`unknown flag "--bsae"; did you mean --base?`)},
	{"branch is not base", "/sesame --branch dev fix it", usage(`unknown flag "--branch"`)},
	{"typo of a flag with retry", "/sesame retry --agnet claude", usage(`unknown flag "--agnet"; did you mean --agent?`)},

	// Base.
	{"base", "/sesame --base develop fix it", runOn("fix it", "develop")},
	{"base with equals", "/sesame fix it --base=release/v1.2", runOn("fix it", "release/v1.2")},
	{"base quoted", `/sesame --base "feature/x" fix it`, runOn("fix it", "feature/x")},
	{"base keeps case", "/sesame --base Release-2 fix it", runOn("fix it", "Release-2")},
	{"base non-ASCII", "/sesame --base 修复 fix it", runOn("fix it", "修复")},
	{"base with every flag", "/sesame --agent claude --model o3 --base dev fix it", result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Agent: "claude", Model: "o3", Base: "dev"}, OK: true}},
	{"base without value", "/sesame fix it --base", usage("flag --base needs a value")},
	{"base empty", "/sesame --base= fix it", usage("flag --base needs a value")},
	{"base repeated", "/sesame --base a fix --base b", usage("flag --base is given more than once")},
	{"base of two dots", "/sesame --base a..b fix it", usage(`"a..b" cannot be a branch name: it holds ".."`)},
	{"base starting with a dash", "/sesame --base=-f fix it", usage(`"-f" cannot be a branch name: it starts with a dash`)},
	{"base quoted with a dash is a flag", `/sesame --base "-f" fix it`, usage("flag --base needs a value")},
	{"base with a space", `/sesame --base "a b" fix it`, usage(`"a b" cannot be a branch name: it holds " " (spaces, control characters and ~ ^ : ? * [ \ are not allowed)`)},
	{"base with a caret", "/sesame --base main^ fix it", usage(`"main^" cannot be a branch name: it holds "^" (spaces, control characters and ~ ^ : ? * [ \ are not allowed)`)},
	{"base with a colon", "/sesame --base a:b fix it", usage(`"a:b" cannot be a branch name: it holds ":" (spaces, control characters and ~ ^ : ? * [ \ are not allowed)`)},
	{"base with a backslash", `/sesame --base a\\b fix it`, usage(`"a\\b" cannot be a branch name: it holds "\\" (spaces, control characters and ~ ^ : ? * [ \ are not allowed)`)},
	{"base ending in a slash", "/sesame --base feature/ fix it", usage(`"feature/" cannot be a branch name: it starts or ends with "/", or holds "//"`)},
	{"base ending in .lock", "/sesame --base main.lock fix it", usage(`"main.lock" cannot be a branch name: a part of it ends with ".lock"`)},
	{"base of HEAD", "/sesame --base HEAD fix it", usage(`"HEAD" cannot be a branch name: git reserves that name`)},
	{"base with a bidi override", "/sesame --base main\u202e fix it", usage(`"main\u202e" cannot be a branch name: it holds the invisible character U+202E`)},
	{"base at the limit", "/sesame fix it --base " + strings.Repeat("b", 200), runOn("fix it", strings.Repeat("b", 200))},
	{"base too long", "/sesame fix it --base " + strings.Repeat("b", 201), usage("a branch name must be at most 200 bytes long; this one has 201")},
	{"base checked with help", "/sesame help --base a..b", usage(`"a..b" cannot be a branch name: it holds ".."`)},
	{"base dropped with help", "/sesame help --base dev", help},

	// Budget.
	{"budget", "/sesame --budget 2.50 fix it", result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Budget: 2.5}, OK: true}},
	{"budget with equals", "/sesame fix it --budget=0.05", result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Budget: 0.05}, OK: true}},
	{"budget whole dollars", "/sesame fix it --budget 5", result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Budget: 5}, OK: true}},
	{"budget with a dollar sign", "/sesame fix it --budget $3", result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Budget: 3}, OK: true}},
	{"budget quoted", `/sesame fix it --budget "1.5"`, result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Budget: 1.5}, OK: true}},
	{"budget with every flag", "/sesame --agent claude --model o3 --base dev --budget 9.99 fix it",
		result{Cmd: Command{Kind: KindRun, Instruction: "fix it", Agent: "claude", Model: "o3", Base: "dev", Budget: 9.99}, OK: true}},
	{"budget with retry", "/sesame retry --budget 4", result{Cmd: Command{Kind: KindRetry, Budget: 4}, OK: true}},
	{"budget dropped with status", "/sesame status --budget 4", status},
	{"budget checked with stop", "/sesame stop --budget lots", usage(`flag --budget: "lots" is not an amount of US dollars such as 2.50 (at most two decimals)`)},
	{"budget of zero", "/sesame --budget 0 fix it", usage("flag --budget needs an amount greater than 0, such as 2.50")},
	{"budget of three decimals", "/sesame --budget 0.005 fix it", usage(`flag --budget: "0.005" is not an amount of US dollars such as 2.50 (at most two decimals)`)},
	{"budget negative", "/sesame --budget -1 fix it", usage(`flag --budget: "-1" is not an amount of US dollars such as 2.50 (at most two decimals)`)},
	{"budget with a comma", "/sesame --budget 2,50 fix it", usage(`flag --budget: "2,50" is not an amount of US dollars such as 2.50 (at most two decimals)`)},
	{"budget too large", "/sesame --budget 1000001 fix it", usage(`flag --budget: "1000001" is more than the $1000000.00 Sesame reads as an amount`)},
	{"budget without value", "/sesame fix it --budget", usage("flag --budget needs a value")},
	{"budget repeated", "/sesame --budget 1 fix it --budget 2", usage("flag --budget is given more than once")},
	{"budget typo", "/sesame --budgte 2 fix it", usage(`unknown flag "--budgte"; did you mean --budget?`)},

	{"flags and double dash only", "/sesame --agent claude --", usage("no instruction given")},

	// Bad model names: the checks of CheckModel, as the web form makes them.
	{"model starting with a dash", "/sesame --model=-x fix it", usage(`a model name must start with a letter or a digit; "-x" starts with "-"`)},
	{"model quoted with a dash is a flag", `/sesame --model "-x" fix it`, usage("flag --model needs a value")},
	{"model of a negative number", "/sesame --model -1 fix it", usage(`a model name must start with a letter or a digit; "-1" starts with "-"`)},
	{"model starting with a slash", "/sesame --model /etc/passwd fix it", usage(`a model name must start with a letter or a digit; "/etc/passwd" starts with "/"`)},
	{"model with a semicolon", "/sesame --model=x;rm fix it", usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "x;rm" holds ";"`)},
	{"model with a shell command", `/sesame --model '$(id)' fix it`, usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "$(id)" holds "$"`)},
	{"model with a space", `/sesame --model "gpt 5" fix it`, usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "gpt 5" holds " "`)},
	{"model with an escaped space", `/sesame --model gpt\ 5 fix it`, usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "gpt 5" holds " "`)},
	{"model with a backtick", "/sesame --model=a`b fix it", usage("a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; \"a`b\" holds \"`\"")},
	{"model with a Cyrillic letter", "/sesame --model clаude fix it", usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "clаude" holds "а"`)},
	{"model with a bidi override", "/sesame --model gpt\u202e5 fix it", usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "gpt\u202e5" holds "\u202e"`)},
	{"model too long", "/sesame fix it --model " + strings.Repeat("m", 201), usage("a model name must be at most 200 characters long; this one has 201")},
	{"model checked with help", "/sesame help --model=-x", usage(`a model name must start with a letter or a digit; "-x" starts with "-"`)},

	// Control characters.
	{"NUL in the instruction", "/sesame fix the\x00 typo", usage(nulReason)},
	{"NUL before a flag", "/sesame fix it\x00 --agent codex", usage(nulReason)},
	{"NUL on a following line", "/sesame fix\nthe\x00typo", usage(nulReason)},
	{"NUL elsewhere in the comment", "Thanks\x00!\n\n/sesame fix it", usage(nulReason)},
	{"NUL in a quote above the command", "> log: \x00\n\n/sesame fix it", usage(nulReason)},
	{"NUL in a comment without a command", "Thanks\x00!", none},
	{"NUL right after the keyword is no command", "/sesame\x00fix it", none},
	{"escape", "/sesame make it \x1b[31mred", usage("the comment contains an invisible control character (U+001B); remove it and post the command again")},
	{"vertical tab", "/sesame fix\vit", usage("the comment contains an invisible control character (U+000B); remove it and post the command again")},
	{"form feed", "/sesame fix\fit", usage("the comment contains an invisible control character (U+000C); remove it and post the command again")},
	{"delete", "/sesame fix\x7fit", usage("the comment contains an invisible control character (U+007F); remove it and post the command again")},
	{"C1 control sequence introducer", "/sesame fix \u009b2J it", usage("the comment contains an invisible control character (U+009B); remove it and post the command again")},
	{"tab, CR and LF are text", "/sesame fix\tit\r\nnow", run("fix it\nnow")},

	// Quotes in the instruction.
	{"double quotes kept", `/sesame fix "the title"`, run(`fix "the title"`)},
	{"quoted spaces kept", `/sesame rename "a  b" to c`, run(`rename "a  b" to c`)},
	{"single quotes kept", `/sesame rename 'foo' to 'bar'`, run(`rename 'foo' to 'bar'`)},
	{"apostrophe", "/sesame don't break the API", run("don't break the API")},
	{"two apostrophes", "/sesame don't touch the user's data", run("don't touch the user's data")},
	{"possessive plural", "/sesame fix the users' avatars", run("fix the users' avatars")},
	{"unbalanced double quote", `/sesame fix the 5" screen layout --agent claude`, runWith(`fix the 5" screen layout`, "claude", "")},
	{"unbalanced leading apostrophe", "/sesame use '90s colors --model o3", runWith("use '90s colors", "", "o3")},
	{"unbalanced quote keeps a model as written", `/sesame fix 5" --model "gpt 5"`, usage(`a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "\"gpt" holds "\""`)},
	{"backslashes kept", `/sesame match \d+ in C:\Users\x\`, run(`match \d+ in C:\Users\x\`)},
	{"backticks kept", "/sesame add a `--verbose` flag", run("add a `--verbose` flag")},

	// Text.
	{"emoji", "/sesame make the button 🚀 faster 👍🏽", run("make the button 🚀 faster 👍🏽")},
	{"CJK", "/sesame 修复登录页面的错误", run("修复登录页面的错误")},
	{"RTL", "/sesame תקן את הבאג בכותרת", run("תקן את הבאג בכותרת")},
	{"combining marks", "/sesame cafe\u0301 menu", run("cafe\u0301 menu")},
	{"CRLF", "Hi\r\n/sesame fix the typo\r\nin the header\r\n\r\nThanks", run("fix the typo\nin the header")},
	{"CR", "/sesame fix a\rand b\r\rno", run("fix a\nand b")},
	{"CRLF fence", "```\r\n/sesame fix a\r\n```\r\n/sesame fix b\r\n", run("fix b")},
	{"BOM", "\uFEFF/sesame fix the typo", run("fix the typo")},
	{"BOM only at the start", "x\n\uFEFF/sesame fix the typo", none},
	{"at the limit", "/sesame " + strings.Repeat("é", 8000), run(strings.Repeat("é", 8000))},
	{"over the limit", "/sesame " + strings.Repeat("é", 8001), usage("the instruction is too long: 8001 characters, the limit is 8000")},
	{"over the limit on more lines", "/sesame " + strings.Repeat("a\n", 4000) + "b", usage("the instruction is too long: 8001 characters, the limit is 8000")},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, ok, err := Parse(tt.body)
			got := result{Cmd: cmd, OK: ok}
			if err != nil {
				var ue *UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("Parse() error = %v (%T), want a *UsageError", err, err)
				}
				if ue.Error() != ue.Reason {
					t.Errorf("Error() = %q, want the Reason %q", ue.Error(), ue.Reason)
				}
				got.Reason = ue.Reason
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// TestAgents: --agent accepts the agents of the catalog that Sesame can run, in any case, and
// refuses the others with a reason that names them.
func TestAgents(t *testing.T) {
	var runnable []string
	for _, e := range agent.Catalog() {
		body := "/sesame --agent " + strings.ToUpper(e.Name) + " fix it"
		got, ok, err := Parse(body)
		var u *UsageError
		switch {
		case e.Runnable():
			runnable = append(runnable, e.Name)
			if !ok || err != nil || got.Agent != e.Name {
				t.Errorf("Parse(%q) = %+v, %v, %v; want agent %s", body, got, ok, err, e.Name)
			}
		case !errors.As(err, &u) || !strings.Contains(u.Reason, "Sesame cannot run "+e.Title+" yet"):
			t.Errorf("Parse(%q) = %+v, %v; want a usage error saying Sesame cannot run %s yet", body, got, err, e.Title)
		}
	}
	if diff := cmp.Diff(runnable, Agents()); diff != "" || Agents()[0] != "claude" {
		t.Errorf("Agents() mismatch (-want +got):\n%s", diff)
	}
	Agents()[0] = "changed"
	if got := Agents()[0]; got != "claude" {
		t.Errorf("Agents()[0] = %q after a caller changed its copy, want claude", got)
	}
}

func TestUsage(t *testing.T) {
	u := Usage()
	want := []string{"/sesame <instruction>", "--agent NAME", "--model NAME", "--base BRANCH", "/sesame help", "/sesame status",
		"/sesame stop", "/sesame retry [--agent NAME] [--model NAME] [--base BRANCH]", "```"}
	for _, e := range agent.Catalog() {
		if e.Runnable() {
			want = append(want, "`"+e.Name+"` ("+e.Title)
		} else {
			want = append(want, e.Title) // "Sesame cannot run Codex, ... yet"
		}
	}
	for _, w := range want {
		if !strings.Contains(u, w) {
			t.Errorf("Usage() does not mention %q:\n%s", w, u)
		}
	}
	if strings.Contains(u, "′") {
		t.Errorf("Usage() holds a ′ that should be a backquote:\n%s", u)
	}
}

// TestUsageExamples checks that every example in Usage parses.
func TestUsageExamples(t *testing.T) {
	_, block, _ := strings.Cut(Usage(), "```\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) < 2 {
		t.Fatalf("Usage() has %d examples, want 2 or more", len(lines))
	}
	for _, line := range lines {
		cmd, ok, err := Parse(line)
		if !ok || err != nil || cmd.Kind != KindRun {
			t.Errorf("Parse(%q) = %+v, %v, %v; want a run command", line, cmd, ok, err)
		}
	}
}
