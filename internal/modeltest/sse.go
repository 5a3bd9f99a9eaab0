package modeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// turn is everything one streamed answer needs. Keeping the ids and token counts explicit lets a test
// reproduce a recorded answer byte for byte.
type turn struct {
	MsgID        string
	Model        string
	ToolID       string // id of the tool_use block, when the step calls a tool
	InputTokens  int
	OutputTokens int
	Step         Step
}

// writeStream writes t as the Messages API streams it: message_start, one content_block_start/delta/stop
// per block (text, then tool_use with its input as a single input_json_delta), message_delta with the
// stop reason and usage, message_stop. Payloads are maps so that keys come out sorted, as in the samples.
func writeStream(w io.Writer, t turn) error {
	input, err := toolInput(t.Step)
	if err != nil {
		return err
	}
	events := []map[string]any{{
		"type": "message_start",
		"message": map[string]any{
			"content": []any{}, "id": t.MsgID, "model": t.Model, "role": "assistant",
			"stop_reason": nil, "stop_sequence": nil, "type": "message",
			"usage": usage(t.InputTokens, 1),
		},
	}}
	index := 0
	if t.Step.Text != "" || t.Step.ToolName == "" {
		events = append(events,
			map[string]any{"type": "content_block_start", "index": index,
				"content_block": map[string]any{"type": "text", "text": ""}},
			map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "text_delta", "text": stepText(t.Step)}},
			map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	stop := "end_turn"
	if t.Step.ToolName != "" {
		stop = "tool_use"
		events = append(events,
			map[string]any{"type": "content_block_start", "index": index,
				"content_block": map[string]any{"type": "tool_use", "id": t.ToolID, "name": t.Step.ToolName,
					"input": map[string]any{}}},
			map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": string(input)}},
			map[string]any{"type": "content_block_stop", "index": index})
	}
	events = append(events,
		map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": t.OutputTokens}},
		map[string]any{"type": "message_stop"})

	flusher, _ := w.(http.Flusher)
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e["type"], data); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	return nil
}

// message is the non-streamed answer (a request with "stream": false): the same turn as one JSON object.
func message(t turn) (map[string]any, error) {
	input, err := toolInput(t.Step)
	if err != nil {
		return nil, err
	}
	content := []any{}
	if t.Step.Text != "" || t.Step.ToolName == "" {
		content = append(content, map[string]any{"type": "text", "text": stepText(t.Step)})
	}
	stop := "end_turn"
	if t.Step.ToolName != "" {
		stop = "tool_use"
		content = append(content, map[string]any{"type": "tool_use", "id": t.ToolID, "name": t.Step.ToolName,
			"input": json.RawMessage(input)})
	}
	return map[string]any{
		"content": content, "id": t.MsgID, "model": t.Model, "role": "assistant",
		"stop_reason": stop, "stop_sequence": nil, "type": "message",
		"usage": usage(t.InputTokens, t.OutputTokens),
	}, nil
}

func usage(input, output int) map[string]any {
	return map[string]any{"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
		"input_tokens": input, "output_tokens": output}
}

// stepText is the text a step answers; a step with neither text nor tool answers "done".
func stepText(s Step) string {
	if s.Text == "" && s.ToolName == "" {
		return "done"
	}
	return s.Text
}

func toolInput(s Step) ([]byte, error) {
	if s.ToolName == "" {
		return nil, nil
	}
	if s.ToolInput == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(s.ToolInput)
	if err != nil {
		return nil, fmt.Errorf("modeltest: marshal input of %s: %w", s.ToolName, err)
	}
	return b, nil
}

// apiError returns the error type and message Anthropic's API answers status with.
func apiError(status int) (typ, msg string) {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error", "invalid request"
	case http.StatusUnauthorized:
		return "authentication_error", "invalid x-api-key"
	case http.StatusPaymentRequired:
		return "billing_error", "Your credit balance is too low to access the Anthropic API."
	case http.StatusForbidden:
		return "permission_error", "Your API key does not have permission to use the specified resource."
	case http.StatusNotFound:
		return "not_found_error", "Not found"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case http.StatusTooManyRequests:
		return "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
	case http.StatusGatewayTimeout:
		return "timeout_error", "Request timeout"
	case 529:
		return "overloaded_error", "Overloaded"
	default:
		return "api_error", "Internal server error"
	}
}

// writeError answers status with Anthropic's error JSON.
func writeError(w http.ResponseWriter, status int, requestID string) {
	typ, msg := apiError(status)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", requestID)
	if status == http.StatusUnauthorized {
		w.Header().Set("X-Should-Retry", "false")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": typ, "message": msg},
		"request_id": requestID,
	})
}
