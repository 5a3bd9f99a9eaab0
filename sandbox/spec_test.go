package sandbox_test

import (
	"path/filepath"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/sandbox"
)

func TestSpecValidate(t *testing.T) {
	ok := sandbox.Spec{TaskID: "t1", TaskDir: "/tmp/sesame/t1", Workspace: "/tmp/sesame/t1/repo"}
	tests := []struct {
		name   string
		modify func(*sandbox.Spec)
		valid  bool
	}{
		{"valid", func(*sandbox.Spec) {}, true},
		{"valid env", func(s *sandbox.Spec) { s.Env = map[string]string{"ANTHROPIC_API_KEY": "k", "EMPTY": ""} }, true},
		{"no task id", func(s *sandbox.Spec) { s.TaskID = "" }, false},
		{"relative task dir", func(s *sandbox.Spec) { s.TaskDir = "sesame/t1" }, false},
		{"empty workspace", func(s *sandbox.Spec) { s.Workspace = "" }, false},
		{"relative workspace", func(s *sandbox.Spec) { s.Workspace = "repo" }, false},
		{"empty env key", func(s *sandbox.Spec) { s.Env = map[string]string{"": "x"} }, false},
		{"env key with =", func(s *sandbox.Spec) { s.Env = map[string]string{"A=B": "x"} }, false},
		{"env key with NUL", func(s *sandbox.Spec) { s.Env = map[string]string{"A\x00": "x"} }, false},
		{"env value with NUL", func(s *sandbox.Spec) { s.Env = map[string]string{"A": "x\x00y"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.modify(&s)
			err := s.Validate()
			if tt.valid && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.valid && sesame.ErrorCode(err) != sesame.EINVALID {
				t.Fatalf("Validate() = %v, want an EINVALID error", err)
			}
		})
	}
}

func TestValidateEnvDoesNotLeakValues(t *testing.T) {
	err := sandbox.ValidateEnv(map[string]string{"TOKEN": "s3cret\x00"})
	if err == nil {
		t.Fatal("ValidateEnv accepted a NUL byte")
	}
	if got := sesame.ErrorMessage(err); got != "environment variable TOKEN contains a NUL byte" {
		t.Fatalf("message = %q", got)
	}
}

func TestWorkDir(t *testing.T) {
	const ws = "/tmp/sesame/t1/repo"
	tests := []struct {
		name, dir, want string
		valid           bool
	}{
		{"empty is the workspace", "", ws, true},
		{"dot is the workspace", ".", ws, true},
		{"subfolder", "sub/dir", filepath.Join(ws, "sub/dir"), true},
		{"inner dot-dot staying inside", "a/../b", filepath.Join(ws, "b"), true},
		{"parent", "..", "", false},
		{"grandparent", "../..", "", false},
		{"escape through a subfolder", "a/../../x", "", false},
		{"absolute", "/etc", "", false},
		{"absolute inside the workspace", ws + "/sub", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sandbox.WorkDir(ws, tt.dir)
			if !tt.valid {
				if sesame.ErrorCode(err) != sesame.EINVALID {
					t.Fatalf("WorkDir(%q) = %q, %v; want an EINVALID error", tt.dir, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("WorkDir(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}
