package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update rewrites the committed example from the registry:
//
//	go test ./config -run TestExampleFile -update
var update = flag.Bool("update", false, "rewrite ../config.yaml.example from Example()")

// exampleFile is the committed example at the repository root.
const exampleFile = "../config.yaml.example"

func TestExampleFile(t *testing.T) {
	want := Example()
	if *update {
		if err := os.WriteFile(exampleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatalf("%v (write it with: go test ./config -run TestExampleFile -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./config -run TestExampleFile -update (-Example() +file):\n%s", exampleFile, diff)
	}
}

// TestExampleLoads checks that the committed example loads through Load and
// sets every file setting to exactly its default.
func TestExampleLoads(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{Dir: dir, Getenv: env(nil)})
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	for _, s := range Settings() {
		wantSource := SourceFile
		if !s.FromFile() {
			wantSource = SourceDefault
			if bytes.Contains(data, []byte("\n"+s.Key)) {
				t.Errorf("the example sets env-only %s", s.Key)
			}
		}
		if got := c.values[s.Key]; got.value != s.Default || got.source != wantSource {
			t.Errorf("%s = %q from %s, want the default %q from %s", s.Key, got.value, got.source, s.Default, wantSource)
		}
	}
}
