package modeltest

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The answers Claude Code 2.1.197 accepted in the recorded run, reproduced byte for byte.
func TestWriteStreamMatchesRecording(t *testing.T) {
	tests := []struct {
		file string
		turn turn
	}{{
		file: "testdata/002.resp",
		turn: turn{MsgID: "msg_fake_2", Model: "claude-opus-4-8", ToolID: "toolu_call_267107_0",
			InputTokens: 19181, OutputTokens: 12, Step: Step{ToolName: "Write", ToolInput: map[string]any{
				"file_path": "/srv/task/repo/hello.txt", "content": "hello from fake model\n"}}},
	}, {
		file: "testdata/003.resp",
		turn: turn{MsgID: "msg_fake_3", Model: "claude-opus-4-8", ToolID: "toolu_call_564713_1",
			InputTokens: 19293, OutputTokens: 12, Step: Step{ToolName: "Bash", ToolInput: map[string]any{
				"command": "echo shell-ok > shell.txt && ls"}}},
	}, {
		file: "testdata/004.resp",
		turn: turn{MsgID: "msg_fake_4", Model: "claude-opus-4-8", InputTokens: 19367, OutputTokens: 12,
			Step: Step{Text: "Done: wrote hello.txt and ran a shell command."}},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := writeStream(&got, tt.turn); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}
