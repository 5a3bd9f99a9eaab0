// Package command parses the text of a GitHub comment into a Sesame command.
//
// It is a pure function of the comment body: no I/O, no configuration.
// [Parse] returns ok=false when the comment holds no command (nothing to do),
// a [Command] for a valid one, and a [*UsageError] for a bad one; the caller
// answers a usage error with the reason followed by [Usage].
//
// # Where a command is found
//
// A command is a line that begins with the keyword /sesame, followed by white
// space or the end of the line. The keyword is matched without regard to ASCII
// case (/Sesame and /SESAME work too). Up to three spaces may come before it;
// a line indented by four or more spaces, or by a tab, is a markdown code
// block and never fires. These never fire either:
//
//   - a mention in the middle of a line ("please /sesame fix it");
//   - a longer word (/sesamefoo, /sesame-bot);
//   - a blockquote line, that is a line whose first non-blank character is '>'
//     ("> /sesame ...", "> > /sesame ..."). Only the line itself counts: a
//     line without '>' after a quote (markdown's "lazy continuation") fires;
//   - a line inside a fenced code block (``` or ~~~, three or more, with an
//     optional info string; closed by a fence of the same character at least
//     as long; an unclosed fence runs to the end of the comment);
//   - a line inside an HTML comment (<!-- ... -->), which GitHub does not show,
//     so that a template's hidden hints cannot start an agent.
//
// The first command in the comment wins; later ones are ignored.
// A leading byte order mark is ignored, and \r\n and \r line endings are read
// as \n. A comment that holds a command and also a control character other
// than tab, line feed and carriage return (NUL, ESC, DEL, a C1 control),
// anywhere, is a usage error: no one types one, and a NUL would cut the
// instruction short further on.
//
// # What the command says
//
//	/sesame <instruction> [--agent NAME] [--model NAME] [--base BRANCH] [--budget USD]
//	/sesame help
//	/sesame status
//	/sesame stop
//	/sesame retry [--agent NAME] [--model NAME] [--base BRANCH]
//
// The instruction is the rest of the /sesame line plus the lines right after
// it, up to the end of their paragraph: the paragraph ends at a blank line, at
// a line that opens a fence, a blockquote or an HTML comment, at another
// /sesame line, or at the end of the comment. The following lines are kept as
// they are, joined with "\n"; the whole instruction is trimmed of surrounding
// white space. It is limited to 8,000 characters (runes).
//
// Flags are read on the /sesame line only, anywhere among its words:
// --agent NAME, --agent=NAME, --model NAME, --model=NAME, --base BRANCH,
// --base=BRANCH, --budget USD and --budget=USD. The words are split the way a shell splits them
// (github.com/kballard/go-shellquote does the unquoting), so a value can be
// quoted: --model "gpt-5". Agent names are one
// of [Agents] (the agents of the catalog in package agent that Sesame can
// run), matched without regard to case and returned in lower case; ""
// means the default agent (claude). An agent of the catalog that Sesame cannot
// run yet is an error that says so. A model name is checked by [CheckModel]
// (ASCII letters, digits and . _ - : / @ [ ], starting with a letter or a
// digit, at most 200), as the web form checks it. A branch name (the branch a
// task on an issue starts from; "" means the repository's default branch) is
// checked by [sesame.CheckBranch] with git's rules for a branch (no "..", no
// leading dash, no space, control character or any of ~ ^ : ? * [ \, not
// ending in "/" or ".lock", ...), and is at most 200 bytes. A budget (the most
// the task may spend, in US dollars; 0 when absent, which means the server's)
// is read by [sesame.ParseUSD]: digits with at most two decimals and an
// optional leading "$" (2.50, $5, 0.05), greater than 0 and at most 1,000,000.
// Whether the server lets a request ask that much is not the parser's
// business: the task is refused when it starts. A lone "--" ends
// the flags: everything after it is instruction. Any other word that looks
// like a flag ("--foo", or a dash and a letter as in "-v") is an error; so is
// a repeated flag, a flag without a value, an unknown agent, a bad model name,
// a bad branch name and a budget that is not a positive amount. When the name of an unknown flag (before any "=") is
// at most two edits from a known one, the error asks "did you mean" it:
// unknown flag "--agnet"; did you mean --agent? (Edits are Damerau-Levenshtein:
// a character inserted, deleted or replaced, or two neighbours swapped; flag
// names are compared as written, so --Agent suggests --agent.)
//
// The instruction keeps the user's words exactly as written: the words of the
// first line that are not flags, joined with single spaces, quotes and
// backslashes included (/sesame fix "the title" gives `fix "the title"`).
// Shell quoting only decides where a word ends and what a flag's value is.
// Natural language is not shell, so an apostrophe inside a word (don't,
// user's) is a letter, not a quote; a single quote opens a quoted string only
// at the start of a word or after '='. If a quote is still open at the end of
// the line, the line is split on white space instead and flag values are
// taken as written.
//
// # Command words
//
// An instruction that is exactly one of the words help, status, stop or retry,
// in any ASCII case, is that command rather than an instruction:
//
//   - help asks for [Usage];
//   - status asks for the tasks of the comment's issue or pull request;
//   - stop stops the task of the issue or pull request that runs now;
//   - retry runs its last failed or stopped task again, with the same
//     instruction and options; --agent, --model and --base given with retry
//     replace that task's (a --budget given with retry is read into the
//     command too).
//
// Flags given with help, status or stop are checked, then dropped. Anything
// longer, like "/sesame help me fix the login", or "/sesame stop" with more
// lines after it, is an instruction. An instruction that is a single word (no
// white space) at most two edits from a command word, ignoring ASCII case, is
// a usage error that asks "did you mean" the nearest (the first of help,
// status, stop, retry on a tie): /sesame stauts gives unknown command
// "stauts"; did you mean status? so that a typo never starts an agent.
package command
