package main

import (
	"context"
	"fmt"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/runner"
)

// agentCatalog gives each run of an agent of the catalog (agent.Catalog) this server's executable of
// it, its default model and its credentials.
type agentCatalog struct {
	cfg func() *config.Config // the settings as they are now: admins change shared credentials
	// inImage: the agents run in the sandbox image (docker provider), whose PATH has their CLIs;
	// AGENTS_DIR and this server's PATH are this host's and mean nothing there.
	inImage bool
	// found is where each CLI is on this host, looked up when the server started (findAgents).
	found agentPaths
	// User returns a user's own credentials for an agent, by env name (one of the agent's
	// Credentials; any other name is ignored), which win over the system-wide settings for that
	// user's tasks. Nil means no user has credentials of their own.
	User func(ctx context.Context, userID, agentName string) (map[string]string, error)
}

var _ runner.Agents = agentCatalog{}

// Agent returns the adapter of the agent named name with the options of a run for userID: the
// executable found on this host (unless the agents run in the sandbox image), the agent's default
// model and its credentials, and no other agent's. An agent that cannot run yet, is not installed,
// or whose user credentials cannot be read gives a *sesame.Error that says so.
func (c agentCatalog) Agent(ctx context.Context, name, userID string) (agent.Adapter, agent.Options, error) {
	e, err := agent.Get(name)
	if err != nil {
		return nil, agent.Options{}, err
	}
	creds := systemCredentials(c.cfg(), e)
	if c.User != nil && userID != "" {
		own, err := c.User(ctx, userID, e.Name)
		if err != nil {
			if sesame.ErrorCode(err) != sesame.EINTERNAL { // it says what to do already
				return nil, agent.Options{}, fmt.Errorf("credentials of user %s for %s: %w", userID, e.Name, err)
			}
			return nil, agent.Options{}, fmt.Errorf("%w: user %s: %w", sesame.Errorf(sesame.EUNAVAILABLE,
				"Sesame could not read your own credentials for %s.", e.Title), userID, err)
		}
		creds = overlay(e, creds, own)
	}
	opts := agent.Options{Model: e.DefaultModel, Credentials: creds}
	if !c.inImage {
		if opts.Executable, err = c.found.executable(e); err != nil {
			return nil, agent.Options{}, err
		}
		if env, dir := c.found.packageCache(e, opts.Executable); env != "" {
			creds[env] = dir
		}
	}
	return e.Adapter, opts, nil
}

// systemCredentials returns the system-wide settings of e's credentials that are set, by env name.
func systemCredentials(cfg *config.Config, e agent.Entry) map[string]string {
	out := map[string]string{}
	for _, env := range e.Credentials() {
		if key, ok := settingOf(env); ok {
			if v := cfg.String(key); v != "" {
				out[env] = v
			}
		}
	}
	return out
}

// overlay puts a user's own credentials over the system's. A user's own key (of Keys or UserKeys)
// replaces every system key of the agent, so that the adapter cannot prefer a system key of another
// kind (Claude Code prefers ANTHROPIC_API_KEY to CLAUDE_CODE_OAUTH_TOKEN); an endpoint the user sets
// replaces the system's, and without one the system's endpoint stays. Names that are not e's are
// dropped.
func overlay(e agent.Entry, system, own map[string]string) map[string]string {
	out := map[string]string{}
	keys := append(append([]string(nil), e.Keys...), e.UserKeys...)
	hasKey := false
	for _, env := range keys {
		hasKey = hasKey || own[env] != ""
	}
	for _, env := range keys {
		if v := own[env]; v != "" {
			out[env] = v
		} else if v := system[env]; v != "" && !hasKey {
			out[env] = v
		}
	}
	for _, env := range e.Endpoints {
		if v := own[env]; v != "" {
			out[env] = v
		} else if v := system[env]; v != "" {
			out[env] = v
		}
	}
	return out
}

// settingOf returns the key of the setting whose environment variable is env (ANTHROPIC_API_KEY:
// agents.anthropicApiKey): the system-wide value of an agent's credential.
func settingOf(env string) (string, bool) {
	for _, s := range config.Settings() {
		if s.Env == env {
			return s.Key, true
		}
	}
	return "", false
}
