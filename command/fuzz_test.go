package command

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	sesame "github.com/sesame-works/sesame"
)

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, ok, err := Parse(body)
		if !ok {
			if err != nil {
				t.Fatalf("Parse(%q) = not ok with error %v", body, err)
			}
			if cmd != (Command{}) {
				t.Fatalf("Parse(%q) = not ok with command %+v", body, cmd)
			}
			return
		}
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Reason == "" {
				t.Fatalf("Parse(%q) error = %#v, want a *UsageError with a reason", body, err)
			}
			if cmd != (Command{}) {
				t.Fatalf("Parse(%q) = error %v with command %+v", body, err, cmd)
			}
			return
		}
		if err := sesame.CheckBranch(cmd.Base); err != nil {
			t.Fatalf("Parse(%q) base %q fails CheckBranch: %v", body, cmd.Base, err)
		}
		if cmd.Budget < 0 || cmd.Budget > 1_000_000 || cmd.Budget != math.Round(cmd.Budget*100)/100 {
			t.Fatalf("Parse(%q) budget %v is not an amount in cents from 0 to a million dollars", body, cmd.Budget)
		}
		switch cmd.Kind {
		case KindHelp, KindStatus, KindStop:
			if cmd != (Command{Kind: cmd.Kind}) {
				t.Fatalf("Parse(%q) = %s with fields set: %+v", body, cmd.Kind, cmd)
			}
		case KindRetry:
			if cmd.Instruction != "" {
				t.Fatalf("Parse(%q) = retry with an instruction: %+v", body, cmd)
			}
			if cmd.Agent != "" && !slices.Contains(Agents(), cmd.Agent) {
				t.Fatalf("Parse(%q) agent %q is not one of %v", body, cmd.Agent, Agents())
			}
			if err := sesame.CheckModel(cmd.Model); err != nil {
				t.Fatalf("Parse(%q) model %q fails CheckModel: %v", body, cmd.Model, err)
			}
		case KindRun:
			in := cmd.Instruction
			if in == "" {
				t.Fatalf("Parse(%q) = run with an empty instruction", body)
			}
			if strings.TrimSpace(in) != in {
				t.Fatalf("Parse(%q) instruction %q has surrounding white space", body, in)
			}
			if utf8.ValidString(body) && !utf8.ValidString(in) {
				t.Fatalf("Parse(%q) instruction %q is not valid UTF-8", body, in)
			}
			if n := utf8.RuneCountInString(in); n > maxInstruction {
				t.Fatalf("Parse(%q) instruction has %d runes, over the limit", body, n)
			}
			if _, ok := commandWord(in); ok {
				t.Fatalf("Parse(%q) = run of the command word %q", body, in)
			}
			if near, ok := nearCommand(in); ok {
				t.Fatalf("Parse(%q) = run of %q, a typo of %s", body, in, near)
			}
			if cmd.Agent != "" && !slices.Contains(Agents(), cmd.Agent) {
				t.Fatalf("Parse(%q) agent %q is not one of %v", body, cmd.Agent, Agents())
			}
			if cmd.Model != strings.TrimSpace(cmd.Model) {
				t.Fatalf("Parse(%q) model %q has surrounding white space", body, cmd.Model)
			}
			if err := sesame.CheckModel(cmd.Model); err != nil {
				t.Fatalf("Parse(%q) model %q fails CheckModel: %v", body, cmd.Model, err)
			}
			if r, ok := controlChar(body); ok {
				t.Fatalf("Parse(%q) = run although the comment holds %U", body, r)
			}
			if strings.ContainsRune(in, '\r') {
				t.Fatalf("Parse(%q) instruction %q holds a carriage return", body, in)
			}
		default:
			t.Fatalf("Parse(%q) kind = %q", body, cmd.Kind)
		}
	})
}
