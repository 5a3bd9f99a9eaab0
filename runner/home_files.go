package runner

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/sandbox"
)

// homeFileScript writes its standard input to $HOME/$1, making the folders on the way: run inside the
// sandbox, as its user, so the file lands in that sandbox's own HOME whatever the provider.
const homeFileScript = `umask 077 && mkdir -p "$HOME/$(dirname "$1")" && cat > "$HOME/$1"`

// writeHomeFiles writes the files the adapter needs in its HOME (agent.HomeFiler) into the sandbox,
// before the agent starts. A name that is not a plain path below HOME is refused.
func writeHomeFiles(ctx context.Context, sb sandbox.Sandbox, a agent.Adapter, o agent.Options) error {
	hf, ok := a.(agent.HomeFiler)
	if !ok {
		return nil
	}
	files, err := hf.HomeFiles(o)
	if err != nil {
		return fmt.Errorf("%s's files: %w", a.DisplayName(), err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s's file %q is not a path below HOME", a.DisplayName(), name)
		}
		var stderr bytes.Buffer
		code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c", homeFileScript, "sh", name},
			Stdin: bytes.NewReader(files[name]), Stderr: &stderr})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d: %s", code, bytes.TrimSpace(stderr.Bytes()))
		}
		if err != nil {
			return fmt.Errorf("write %s's file %s: %w", a.DisplayName(), name, err)
		}
	}
	return nil
}
