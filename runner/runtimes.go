package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/runtimes"
	"github.com/sesame-works/sesame/sandbox"
)

// DefaultSetupLimit bounds the whole runtime and dependency step of a task when RuntimeOptions.Limit
// is zero; it never takes more than half the task's maximum duration either.
const DefaultSetupLimit = 10 * time.Minute

// maxSetupLines caps the output lines of one setup step kept as events; the rest are counted.
const maxSetupLines = 2000

// RuntimeOptions configures the step that installs a repository's runtimes (with mise) and
// dependencies (from its lockfiles) in the task's sandbox before its agent starts.
type RuntimeOptions struct {
	// Mise is the mise executable as the sandbox's processes see it. For the local provider that
	// is its host path (AGENTS_DIR/mise/node_modules/.bin/mise, installed by scripts/install-agents),
	// which must lie in a folder the provider binds read-only (Options.ReadOnly); "" means "mise" on
	// the sandbox's PATH, as in the sandbox image. A sandbox without it skips the runtimes, and
	// says so, but still installs the dependencies its tools allow.
	Mise string
	// Env is extra environment for every setup command (not the agent's): a mirror for mise's
	// downloads (MISE_NODE_MIRROR_URL), a registry (npm_config_registry).
	Env map[string]string
	// Limit bounds the whole setup; zero means DefaultSetupLimit.
	Limit time.Duration
}

// runtimePlan is what the task's repository needs installed before its agent starts, when the
// setting is on (an empty plan when off). It also tells git to leave what the plan will install
// in the workspace (.venv, vendor/bundle) out of the agent's commit. Called right after the
// checkout, before the sandbox exists: its domains go into the sandbox's allowlist.
func (r *Runner) runtimePlan(workspace string, set Settings, log *slog.Logger) runtimes.Plan {
	if !set.InstallRuntimes {
		return runtimes.Plan{}
	}
	plan := runtimes.Detect(workspace)
	if err := excludeFromCommit(workspace, plan.Exclude()); err != nil {
		log.Warn("exclude installed dependencies from the commit", "err", err)
	}
	return plan
}

// excludeFromCommit appends patterns to the workspace's .git/info/exclude, which Commit honours.
func excludeFromCommit(workspace string, patterns []string) error {
	if len(patterns) == 0 {
		return nil
	}
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(".git/info", 0o755); err != nil {
		return err
	}
	f, err := root.OpenFile(".git/info/exclude", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n# installed by Sesame before the agent ran\n%s\n", strings.Join(patterns, "\n"))
	return errors.Join(err, f.Close())
}

// installRuntimes runs plan in sb: mise installs the runtimes, then each lockfile's installer runs.
// Every line of output is a setup event as it comes, and every step ends with one saying how long
// it took and its exit code, or why it was skipped. Nothing here fails the task: a failed or skipped
// step is shown and the agent runs all the same. The whole setup is bounded by the options' limit
// and ends when ctx does. It returns the environment the agent's commands need to find what was
// installed (PATH with the installed runtimes first, mise's own folders), nil when none.
func (r *Runner) installRuntimes(ctx context.Context, t *sesame.Task, sb sandbox.Sandbox, plan runtimes.Plan, set Settings, log *slog.Logger) map[string]string {
	for _, p := range plan.Problems {
		r.setupEvent(ctx, t, "could not read "+p, map[string]any{"status": "problem"})
	}
	if plan.Empty() {
		return nil
	}
	start := time.Now()
	limit := r.Runtimes.Limit
	if limit <= 0 {
		limit = DefaultSetupLimit
	}
	if set.MaxDuration > 0 {
		limit = min(limit, set.MaxDuration/2)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	s := &setup{r: r, t: t, sb: sb, log: log, workspace: sb.Workspace()}
	r.setupEvent(ctx, t, "installing "+summary(plan), map[string]any{"status": "plan", "tools": toolNames(plan.Tools), "steps": stepNames(plan.Steps), "domains": plan.Domains()})

	mise := r.Runtimes.Mise
	if mise == "" {
		mise = "mise"
	}
	found, base := s.probe(ctx, nil, append([]string{mise}, needs(plan.Steps)...)...)
	if found == nil {
		return nil // the sandbox could not run a shell: probe said so
	}
	s.path = base["PATH"]
	if found[mise] != "" {
		s.env = miseEnv(base["HOME"], s.workspace)
	}
	failures := 0
	for i, step := range plan.Steps {
		if ctx.Err() != nil {
			r.setupEvent(ctx, t, step.Name+": not run, "+stopReason(ctx, limit), map[string]any{"step": step.Name, "status": "skipped"})
			continue
		}
		if step.Name == runtimes.StepMise {
			if found[mise] == "" {
				s.skipped(ctx, step, fmt.Sprintf("mise is not installed in the sandbox (%s)", mise))
				continue
			}
			step.Argv = append([]string{found[mise]}, step.Argv[1:]...)
			if !s.run(ctx, step) {
				failures++
			}
			if p := s.misePath(ctx, found[mise]); p != "" {
				s.path = p
			}
			// What the dependency steps need, looked up now that the runtimes are on PATH.
			if more, _ := s.probe(ctx, s.pathEnv(), needs(plan.Steps[i+1:])...); more != nil {
				found = more
			}
			continue
		}
		if found[step.Needs] == "" {
			s.skipped(ctx, step, fmt.Sprintf("%s is not installed in the sandbox", step.Needs))
			continue
		}
		if s.run(ctx, step) {
			s.agentPath = append(expand(step.AgentPath, s.workspace), s.agentPath...)
			for k, v := range step.AgentEnv {
				s.agentEnv()[k] = strings.ReplaceAll(v, runtimes.Workspace, s.workspace)
			}
		} else {
			failures++
		}
	}
	msg := fmt.Sprintf("setup done in %d ms", time.Since(start).Milliseconds())
	if failures > 0 {
		msg = fmt.Sprintf("setup done in %d ms, %d step(s) failed: the agent runs without what they would have installed", time.Since(start).Milliseconds(), failures)
	}
	r.setupEvent(ctx, t, msg, map[string]any{"status": "done", "ms": time.Since(start).Milliseconds(), "failed": failures})
	return s.agentEnvironment()
}

// setup is one task's run of its plan.
type setup struct {
	r         *Runner
	t         *sesame.Task
	sb        sandbox.Sandbox
	log       *slog.Logger
	workspace string            // as the sandbox sees it
	env       map[string]string // mise's variables; nil without mise
	path      string            // PATH for the next commands: the sandbox's, then mise's
	agentPath []string          // folders the agent gets first on PATH (a venv's bin)
	extra     map[string]string // further agent environment from steps (BUNDLE_PATH)
}

// miseEnv keeps mise's data, cache, state and configuration in the sandbox's own home, trusts the
// workspace's mise.toml there only, reads no global or system configuration, and answers yes.
func miseEnv(home, workspace string) map[string]string {
	return map[string]string{
		"MISE_DATA_DIR":                            home + "/.local/share/mise",
		"MISE_CACHE_DIR":                           home + "/.cache/mise",
		"MISE_STATE_DIR":                           home + "/.local/state/mise",
		"MISE_CONFIG_DIR":                          home + "/.config/mise",
		"MISE_GLOBAL_CONFIG_FILE":                  home + "/.config/mise/config.toml",
		"MISE_SYSTEM_CONFIG_FILE":                  home + "/.config/mise/system.toml",
		"MISE_TRUSTED_CONFIG_PATHS":                workspace,
		"MISE_CEILING_PATHS":                       path.Dir(workspace),
		"MISE_YES":                                 "1",
		"MISE_IDIOMATIC_VERSION_FILE_ENABLE_TOOLS": "node,python",
	}
}

// probe runs one shell in the sandbox that prints its HOME and PATH and where each program is.
// It returns each program's path ("" when missing) and the two variables; nil when the shell
// could not run, which it reports as a failed setup.
func (s *setup) probe(ctx context.Context, env map[string]string, programs ...string) (map[string]string, map[string]string) {
	const script = `printf '%s\n' "$HOME" "$PATH"; for p in "$@"; do command -v "$p" || echo; done`
	var out strings.Builder
	code, err := s.sb.Exec(ctx, sandbox.ExecRequest{Argv: append([]string{"sh", "-c", script, "sh"}, programs...), Env: env, Stdout: &out})
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if err != nil || code != 0 || len(lines) != 2+len(programs) {
		s.log.Warn("probe the sandbox for setup", "err", err, "exit_code", code, "output", out.String())
		if ctx.Err() == nil {
			s.r.setupEvent(ctx, s.t, "setup not run: the sandbox could not run sh", map[string]any{"status": "failed"})
		}
		return nil, nil
	}
	found := map[string]string{}
	for i, p := range programs {
		found[p] = strings.TrimSpace(lines[2+i])
	}
	return found, map[string]string{"HOME": lines[0], "PATH": lines[1]}
}

// misePath asks mise for the PATH with the installed runtimes first (`mise env --json`); "" when it
// cannot say. Only PATH is taken: the repository's [env] table stays out of the agent's environment.
func (s *setup) misePath(ctx context.Context, mise string) string {
	var out, errOut tailBuffer
	out.max, errOut.max = 1<<20, 4<<10
	code, err := s.sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{mise, "env", "--json"}, Env: s.stepEnv(nil), Stdout: &out, Stderr: &errOut})
	var env map[string]any
	if err != nil || code != 0 || json.Unmarshal([]byte(out.String()), &env) != nil {
		s.log.Warn("mise env", "err", err, "exit_code", code, "stderr", s.r.masker().String(errOut.String()))
		return s.env["MISE_DATA_DIR"] + "/shims:" + s.path
	}
	p, _ := env["PATH"].(string)
	return p
}

// run runs one step, streaming its output as events, and reports whether it exited 0.
func (s *setup) run(ctx context.Context, step runtimes.Step) bool {
	r, t := s.r, s.t
	data := map[string]any{"step": step.Name, "file": step.File, "argv": step.Argv}
	r.setupEvent(ctx, t, fmt.Sprintf("%s (%s)", step.Name, step.File), withStatus(data, "started"))
	lines, cut := 0, 0
	w := &lineWriter{max: 4 << 10, fn: func(line []byte, dropped int) {
		if lines >= maxSetupLines {
			cut++
			return
		}
		lines++
		text := strings.TrimRight(string(line), "\r")
		if dropped > 0 {
			text += fmt.Sprintf(" … (%d more bytes)", dropped)
		}
		r.setupEvent(ctx, t, r.masker().String(text), map[string]any{"step": step.Name, "status": "output"})
	}}
	began := time.Now()
	code, err := s.sb.Exec(ctx, sandbox.ExecRequest{Argv: step.Argv, Dir: step.Dir, Env: s.stepEnv(step.Env), Stdout: w, Stderr: w})
	w.Flush()
	ms := time.Since(began).Milliseconds()
	if cut > 0 {
		r.setupEvent(ctx, t, fmt.Sprintf("%s: %d more lines of output not kept", step.Name, cut), map[string]any{"step": step.Name, "status": "output"})
	}
	data["ms"], data["exit_code"] = ms, code
	switch {
	case err != nil && ctx.Err() != nil:
		r.setupEvent(ctx, t, fmt.Sprintf("%s stopped after %d ms: %s", step.Name, ms, stopReason(ctx, 0)), withStatus(data, "stopped"))
	case err != nil:
		s.log.Warn("setup step could not run", "step", step.Name, "err", err)
		data["error"] = r.masker().String(err.Error())
		r.setupEvent(ctx, t, fmt.Sprintf("%s could not run (%d ms)", step.Name, ms), withStatus(data, "failed"))
	case code != 0:
		s.log.Warn("setup step failed", "step", step.Name, "exit_code", code, "ms", ms)
		r.setupEvent(ctx, t, fmt.Sprintf("%s failed with exit code %d in %d ms", step.Name, code, ms), withStatus(data, "failed"))
	default:
		r.setupEvent(ctx, t, fmt.Sprintf("%s done in %d ms (exit code 0)", step.Name, ms), withStatus(data, "ok"))
		return true
	}
	return false
}

func (s *setup) skipped(ctx context.Context, step runtimes.Step, why string) {
	s.r.setupEvent(ctx, s.t, fmt.Sprintf("%s skipped: %s", step.Name, why),
		map[string]any{"step": step.Name, "file": step.File, "status": "skipped", "reason": why})
}

// pathEnv is the environment of a probe: mise's variables and the current PATH.
func (s *setup) pathEnv() map[string]string { return s.stepEnv(nil) }

// stepEnv is a setup command's environment: mise's variables, PATH as the runtimes left it, the
// operator's extra variables, then the step's own.
func (s *setup) stepEnv(own map[string]string) map[string]string {
	env := map[string]string{"NO_COLOR": "1"}
	for k, v := range s.env {
		env[k] = v
	}
	if s.path != "" {
		env["PATH"] = s.path
	}
	for k, v := range s.r.Runtimes.Env {
		env[k] = v
	}
	for k, v := range own {
		env[k] = strings.ReplaceAll(v, runtimes.Workspace, s.workspace)
	}
	return env
}

func (s *setup) agentEnv() map[string]string {
	if s.extra == nil {
		s.extra = map[string]string{}
	}
	return s.extra
}

// agentEnvironment is what the agent's commands get: mise's variables (so that mise and its shims
// find this sandbox's installs), PATH with the venv and the runtimes first, what steps added.
func (s *setup) agentEnvironment() map[string]string {
	if s.env == nil && len(s.agentPath) == 0 && len(s.extra) == 0 {
		return nil
	}
	env := map[string]string{}
	for k, v := range s.env {
		env[k] = v
	}
	if p := strings.Join(append(s.agentPath, s.path), ":"); s.path != "" {
		env["PATH"] = p
	}
	for k, v := range s.extra {
		env[k] = v
	}
	return env
}

// setupEvent records one event of the setup, even once ctx ended.
func (r *Runner) setupEvent(ctx context.Context, t *sesame.Task, msg string, data map[string]any) {
	if _, err := r.recorder().Add(context.WithoutCancel(ctx), sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventSetup, Message: msg, Data: data}); err != nil {
		r.Logger.Warn("record setup event", "task_id", t.ID, "err", err)
	}
}

func withStatus(data map[string]any, status string) map[string]any {
	out := make(map[string]any, len(data)+1)
	for k, v := range data {
		out[k] = v
	}
	out["status"] = status
	return out
}

func stopReason(ctx context.Context, limit time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if limit > 0 {
			return fmt.Sprintf("the setup's limit of %s ran out", limit)
		}
		return "the setup's time limit ran out"
	}
	return "the task was stopped"
}

func expand(dirs []string, workspace string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = strings.ReplaceAll(d, runtimes.Workspace, workspace)
	}
	return out
}

func needs(steps []runtimes.Step) []string {
	var out []string
	for _, s := range steps {
		if s.Needs != "" {
			out = append(out, s.Needs)
		}
	}
	return out
}

func summary(p runtimes.Plan) string {
	var parts []string
	if len(p.Tools) > 0 {
		parts = append(parts, strings.Join(toolNames(p.Tools), ", "))
	}
	for _, s := range p.Steps {
		if s.Name != runtimes.StepMise {
			parts = append(parts, s.Name)
		}
	}
	return strings.Join(parts, "; ")
}

func toolNames(tools []runtimes.Tool) []string {
	out := make([]string, len(tools))
	for i, t := range tools {
		out[i] = fmt.Sprintf("%s (%s)", t, t.File)
	}
	return out
}

func stepNames(steps []runtimes.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}
