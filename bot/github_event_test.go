package bot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addPayloadSeeds adds GitHub's example payloads and bodies of the wrong shape.
func addPayloadSeeds(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "github", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no payloads in testdata/github: %v", err)
	}
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, body := range []string{`{}`, `null`, `[]`, `{"action":"created",`, `{"action":"created","comment":"nope"}`, ``,
		`{"ACTION":"created","Comment":{"ID":1}}`, `{"action":"a","action":"b"}`, `{"comment":{"id":1},"comment":{"body":"x"}}`,
		"{\"action\":\"\xff\"}", `{"comment":{"id":1.0}}`, `{"comment":{"id":99999999999999999999}}`, `{"issue":{"number":null}}`,
		`{"issue":{"pull_request":{"url":1}}}`, `{"installation":null}`, `{"action":"\ud800"}`, `{"sender":{"login":"a"}} x`} {
		f.Add([]byte(body))
	}
}

// FuzzDecodeIssueComment holds decodeIssueComment to encoding/json: the same payloads refused, the
// same fields read from the others.
func FuzzDecodeIssueComment(f *testing.F) {
	addPayloadSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var want issueCommentEvent
		wantErr := json.Unmarshal(body, &want)
		got, err := decodeIssueComment(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("body %q: decodeIssueComment err %v, encoding/json err %v", body, err, wantErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b json.RawMessage) bool { return string(a) == string(b) })); diff != "" {
			t.Fatalf("body %q: decoded differently (-encoding/json +decodeIssueComment):\n%s", body, diff)
		}
	})
}

func BenchmarkDecodeIssueComment(b *testing.B) {
	body, err := os.ReadFile("testdata/github/issue_comment.created.with-installation.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var ev issueCommentEvent
			if err := json.Unmarshal(body, &ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeIssueComment", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeIssueComment(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
