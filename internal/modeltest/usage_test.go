package modeltest_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/internal/modeltest"
)

// streamedUsage returns the usage the streamed answer to body reports: the input tokens of its
// message_start and the output tokens of its message_delta.
func streamedUsage(t *testing.T, url, body string) (input, output int) {
	t.Helper()
	resp, err := http.Post(url+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e struct {
			Type    string `json:"type"`
			Message struct {
				Usage struct {
					InputTokens int `json:"input_tokens"`
				} `json:"usage"`
			} `json:"message"`
			Usage struct {
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		switch e.Type {
		case "message_start":
			input = e.Message.Usage.InputTokens
		case "message_delta":
			output = e.Usage.OutputTokens
		}
	}
	return input, output
}

// A step's scripted tokens are what its answer reports; a step without them reports an estimate
// from the sizes of the request and the answer.
func TestStepReportsScriptedTokens(t *testing.T) {
	srv := modeltest.NewServer(t,
		modeltest.Step{Text: "costly", InputTokens: 20000, OutputTokens: 500},
		modeltest.Step{Text: "estimated"},
	)
	if in, out := streamedUsage(t, srv.URL, agentBody); in != 20000 || out != 500 {
		t.Errorf("scripted step reported %d tokens in, %d out; want 20000, 500", in, out)
	}
	if in, out := streamedUsage(t, srv.URL, nextTurnBody); in != len(nextTurnBody)/4 || out != 1+len("estimated")/4 {
		t.Errorf("unscripted step reported %d tokens in, %d out; want the estimates %d, %d", in, out, len(nextTurnBody)/4, 1+len("estimated")/4)
	}
}
