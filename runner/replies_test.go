package runner

import (
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
)

// trojan is a request in the style of the Trojan Source paper: a right-to-left override and isolates
// make it display as something other than it says, and a zero-width space hides a word.
const trojan = "Check \u202e \u2066if ad\u200bmin\u2069 \u2066the access level\nand the \u202egnp.exe icon"

var invisibles = []string{"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
	"\u200b", "\u200e", "\u200f", "\u061c", "\ufeff"}

func holdsInvisible(s string) (string, bool) {
	for _, c := range invisibles {
		if strings.Contains(s, c) {
			return c, true
		}
	}
	return "", false
}

func TestTitleDropsInvisibleCharacters(t *testing.T) {
	for _, tt := range []struct{ name, instruction, want string }{
		{"trojan source", trojan, "Check  if admin the access level"},
		{"override at the start", "\u202efix the typo", "Fix the typo"},
		{"byte order mark first", "\ufefffix the typo", "Fix the typo"},
		{"a first line of invisible characters is a blank one", "\u202e\u2066\u2069\nfix it", "Fix it"},
		{"only invisible characters", "\u202e\u2066\u2069\u200b", "Changes requested through Sesame"},
		{"right-to-left text stays", "\u05ea\u05e7\u05df \u200fאת הבאג", "\u05ea\u05e7\u05df את הבאג"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := title(tt.instruction); got != tt.want {
				t.Errorf("title(%+q) = %+q, want %+q", tt.instruction, got, tt.want)
			}
		})
	}
}

func TestCommitAndPullRequestDropInvisibleCharacters(t *testing.T) {
	// The origin's words about the request may hold invisible characters too (a name a user chose).
	for _, c := range []struct {
		task *sesame.Task
		d    sesame.RequestDescription
	}{
		{&sesame.Task{ID: "t1", Request: sesame.Request{Source: sesame.SourceGitHub, Repo: "octo/hello", IssueNumber: 7, Requester: "octocat", Instruction: trojan}},
			sesame.RequestDescription{Commit: "Requested by @octocat in octo/hello#7.", PullRequest: "Fixes #7 by @octocat"}},
		{&sesame.Task{ID: "t2", Request: sesame.Request{Source: sesame.SourceWeb, Repo: "octo/hello", Requester: "Mal\u202eicious", Instruction: trojan}},
			sesame.RequestDescription{Commit: "Requested by Mal\u202eicious in Sesame.", PullRequest: "Requested by Mal\u202eicious in Sesame"}},
	} {
		task := c.task
		t.Run(string(task.Source), func(t *testing.T) {
			msg := commitMessage(task, c.d, "http://sesame.test/tasks/"+task.ID)
			subject, _, _ := strings.Cut(msg, "\n")
			if subject != "Check  if admin the access level" {
				t.Errorf("commit subject = %+q", subject)
			}
			if c, ok := holdsInvisible(msg); ok {
				t.Errorf("commit message holds %+q:\n%+q", c, msg)
			}
			o := outcome{agent: "claude", summary: "Done: \u2066the check\u2069 now \u202ereads\u202c right."}
			body := prBody(task, c.d, o, "http://sesame.test/tasks/"+task.ID)
			if c, ok := holdsInvisible(body); ok {
				t.Errorf("pull request body holds %+q:\n%+q", c, body)
			}
			for _, want := range []string{"> Check  if admin the access level\n> and the gnp.exe icon", "Done: the check now reads right."} {
				if !strings.Contains(body, want) {
					t.Errorf("pull request body lacks %+q:\n%s", want, body)
				}
			}
		})
	}
}
