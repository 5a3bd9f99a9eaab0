package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
)

// SlackUsers finds the Sesame account of a Slack member, by email. sesame.UserStore has it.
type SlackUsers interface {
	UserByEmail(ctx context.Context, email string) (*sesame.User, error)
}

// SlackChannels keeps each channel's default repository. postgres.SlackChannels has it.
type SlackChannels interface {
	ChannelRepo(ctx context.Context, teamID, channelID string) (string, error)
	SetChannelRepo(ctx context.Context, teamID, channelID, repo, by string) error
}

// RepoLister lists the repositories the GitHub App reaches, with their installation. App has it.
type RepoLister interface {
	Repositories(ctx context.Context) ([]sesame.RepoRef, error)
}

// RepoPermission tells a GitHub user's role on a repository. GitHub has it.
type RepoPermission interface {
	Permission(ctx context.Context, installationID int64, repo, login string) (string, error)
}

// SlackCommands receives the /sesame slash command at POST /webhooks/slack/commands. In the request
// it verifies Slack's signature, parses the command, finds the requester's Sesame account (by the
// verified email Slack reports), checks their access to the repository as the web app does, stores
// and enqueues the task through the same submitter as GitHub comments, and answers with an ephemeral
// message well within Slack's 3 seconds. The task's message in the channel is the worker's
// (SlackOrigin).
type SlackCommands struct {
	Verifier SlackVerifier
	Slack    *Slack // nil: no bot token, so no one can be identified
	Tasks    sesame.TaskSubmitter
	Users    SlackUsers
	Channels SlackChannels
	// Repos and Permissions come from the GitHub App; nil: no App, so no repository can be reached.
	Repos       RepoLister
	Permissions RepoPermission
	// Links are the accounts members linked with a one-time link; nil: by email only.
	Links sesame.SlackLinks
	// BaseURL is Sesame's public URL, for the one-time links it offers.
	BaseURL string
	Logger  *slog.Logger
}

// slackIntakeTimeout bounds what a slash command waits for (Slack, GitHub, the store): Slack gives
// up after 3 s.
const slackIntakeTimeout = 2500 * time.Millisecond

// slashCommand is the form Slack posts for a slash command (the fields Sesame reads).
type slashCommand struct {
	teamID, channelID, channelName, userID, userName, text, triggerID string
}

// Handle is the gin handler.
func (h *SlackCommands) Handle(c *gin.Context) {
	log := h.logger().With("slack_retry", c.GetHeader("X-Slack-Retry-Num"))
	form, ok := slackForm(c, h.Verifier, log)
	if !ok {
		return
	}
	cmd := slashCommand{
		teamID: form.Get("team_id"), channelID: form.Get("channel_id"), channelName: form.Get("channel_name"),
		userID: form.Get("user_id"), userName: form.Get("user_name"), text: form.Get("text"), triggerID: form.Get("trigger_id"),
	}
	if cmd.teamID == "" || cmd.channelID == "" || cmd.userID == "" || cmd.triggerID == "" {
		fail(c, http.StatusBadRequest, "The slash command lacks its team_id, channel_id, user_id or trigger_id.")
		return
	}
	if !storable(cmd.teamID, cmd.channelID, cmd.channelName, cmd.userID, cmd.userName, cmd.text, cmd.triggerID) ||
		len(cmd.triggerID) > 200 {
		fail(c, http.StatusBadRequest, "The slash command holds NUL or invalid UTF-8.")
		return
	}
	log = log.With("slack_trigger_id", cmd.triggerID, "slack_user", cmd.userID, "slack_channel", cmd.channelID)
	ctx, cancel := context.WithTimeout(c.Request.Context(), slackIntakeTimeout)
	defer cancel()
	ephemeral(c, h.answer(ctx, log, cmd))
}

// slackForm verifies a Slack request and reads its form. When it returns false it has answered.
func slackForm(c *gin.Context, v SlackVerifier, log *slog.Logger) (url.Values, bool) {
	if len(v.Secret) == 0 {
		log.Error("slack request refused: no signing secret configured (SLACK_SIGNING_SECRET)")
		fail(c, http.StatusServiceUnavailable, "This Sesame server has no Slack signing secret configured.")
		return nil, false
	}
	body, err := v.verify(c.Writer, c.Request)
	switch {
	case errors.Is(err, errSlackTooLarge):
		fail(c, http.StatusRequestEntityTooLarge, "Request body larger than 256 KB.")
		return nil, false
	case errors.Is(err, errSlackNoSignature), errors.Is(err, errSlackStale), errors.Is(err, errSlackBadSignature):
		log.Warn("slack request refused", "reason", err.Error())
		fail(c, http.StatusUnauthorized, "Missing, stale or invalid X-Slack-Signature.")
		return nil, false
	case err != nil:
		fail(c, http.StatusBadRequest, "Could not read the request body.")
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail(c, http.StatusBadRequest, "The body is not form-encoded.")
		return nil, false
	}
	return form, true
}

// answer does what cmd asks and returns the ephemeral reply.
func (h *SlackCommands) answer(ctx context.Context, log *slog.Logger, cmd slashCommand) string {
	req, err := parseSlash(cmd.text)
	if err != nil {
		return slackUsageError(usageReason(err))
	}
	switch req.kind {
	case slashHelp:
		return slackUsage()
	case slashShowRepo:
		repo, err := h.Channels.ChannelRepo(ctx, cmd.teamID, cmd.channelID)
		if err != nil {
			log.Error("read channel default", "err", err)
			return "⚠️ " + sesame.ErrorMessage(err)
		}
		if repo == "" {
			return "This channel has no default repository. Set one with `/sesame repo owner/repo`."
		}
		return fmt.Sprintf("This channel's default repository is *%s*. Change it with `/sesame repo owner/repo`.", slackEscape(repo))
	}

	u, why := h.requester(ctx, log, cmd)
	if u == nil {
		return why
	}
	repos, why := h.repositories(ctx, log)
	if why != "" {
		return why
	}
	if req.kind == slashSetRepo {
		ref := findRepo(repos, req.repo)
		if ref == nil {
			return fmt.Sprintf("⚠️ Sesame's GitHub App cannot reach *%s*. Install the app on it, or name a repository it can reach.", slackEscape(req.repo))
		}
		if why := h.refusal(ctx, log, u, *ref); why != "" {
			return why
		}
		if err := h.Channels.SetChannelRepo(ctx, cmd.teamID, cmd.channelID, ref.FullName, u.ID); err != nil {
			log.Error("save channel default", "err", err)
			return "⚠️ " + sesame.ErrorMessage(err)
		}
		log.Info("slack channel default set", "repo", ref.FullName, "user_id", u.ID)
		return fmt.Sprintf("✅ This channel's default repository is now *%s*: `/sesame <instruction>` here works on it.", slackEscape(ref.FullName))
	}

	// A run: the repository named first, else the channel's default.
	instruction := req.instruction
	var ref *sesame.RepoRef
	if req.repo != "" {
		ref = findRepo(repos, req.repo)
	}
	if ref == nil {
		def, err := h.Channels.ChannelRepo(ctx, cmd.teamID, cmd.channelID)
		if err != nil {
			log.Error("read channel default", "err", err)
			return "⚠️ " + sesame.ErrorMessage(err)
		}
		switch {
		case def == "" && req.repo != "":
			return fmt.Sprintf("⚠️ Sesame's GitHub App cannot reach *%s*, and this channel has no default repository. "+
				"Name a repository the app is installed on: `/sesame owner/repo <instruction>`.", slackEscape(req.repo))
		case def == "":
			return "⚠️ Which repository? Name it first, `/sesame owner/repo <instruction>`, or set this channel's default with `/sesame repo owner/repo`."
		}
		if ref = findRepo(repos, def); ref == nil {
			return fmt.Sprintf("⚠️ This channel's default repository, *%s*, is no longer reachable by Sesame's GitHub App. "+
				"Set another with `/sesame repo owner/repo`.", slackEscape(def))
		}
		instruction = req.rest
	}
	if instruction == "" {
		return slackUsageError(errNoInstruction.Reason)
	}
	if why := h.refusal(ctx, log, u, *ref); why != "" {
		return why
	}

	name := cmd.userName
	if name == "" {
		name = u.Name
	}
	r := sesame.Request{
		Source:         sesame.SourceSlack,
		DeliveryID:     "slack:" + cmd.triggerID,
		RequestKey:     "slack:command:" + cmd.teamID + ":" + cmd.triggerID,
		Kind:           sesame.KindRun,
		Repo:           ref.FullName,
		InstallationID: ref.InstallationID,
		Requester:      name,
		Instruction:    instruction,
		Agent:          req.agent,
		Model:          req.model,
		Budget:         req.budget,
		UserID:         u.ID,
		OriginRef: sesame.OriginRef{
			Workspace: cmd.teamID, Channel: cmd.channelID, ChannelName: cmd.channelName, User: cmd.userID, UserName: name,
		},
	}
	t, created, err := h.Tasks.Submit(ctx, r)
	if err != nil {
		log.Error("store task", "repo", r.Repo, "err", err)
		return "⚠️ Sesame could not take the task: " + sesame.ErrorMessage(err)
	}
	if !created {
		log.Info("repeated slash command", "task_id", t.ID)
		return fmt.Sprintf("Sesame already has this request (task `%s`).", t.ID)
	}
	log.Debug("task created", "task_id", t.ID, "repo", r.Repo, "user_id", u.ID)
	return fmt.Sprintf("👀 Got it: task `%s` on *%s*. Sesame will post its progress in this channel.", t.ID, slackEscape(r.Repo))
}

// requester is the Sesame account of the Slack member id, or nil and why not in words for them.
func (h *SlackCommands) requester(ctx context.Context, log *slog.Logger, cmd slashCommand) (*sesame.User, string) {
	if h.Links != nil { // linked with a one-time link: that account, whatever the email
		u, err := h.Links.SlackLinkedUser(ctx, cmd.teamID, cmd.userID)
		switch {
		case err == nil && u.Banned:
			return nil, "🔒 Your Sesame account is suspended, so you cannot start tasks. Ask a Sesame admin."
		case err == nil:
			return u, ""
		case sesame.ErrorCode(err) != sesame.ENOTFOUND:
			log.Error("find linked sesame account", "err", err)
			return nil, "⚠️ " + sesame.ErrorMessage(err)
		}
	}
	u, why := h.byEmail(ctx, log, cmd.userID)
	if u != nil || h.Links == nil || h.BaseURL == "" || !strings.HasPrefix(why, "🔒 No Sesame account") && !strings.HasPrefix(why, "🔒 Sesame could not see") {
		return u, why
	}
	token, err := h.Links.NewSlackLink(ctx, cmd.teamID, cmd.userID, cmd.userName)
	if err != nil {
		log.Error("make a slack link", "err", err)
		return nil, why
	}
	return nil, why + "\n\n" + slackLinkOffer(strings.TrimSuffix(h.BaseURL, "/")+"/slack/link/"+token)
}

// byEmail finds the Sesame account whose email is the one Slack reports for the member.
func (h *SlackCommands) byEmail(ctx context.Context, log *slog.Logger, id string) (*sesame.User, string) {
	if h.Slack == nil {
		log.Error("slack command refused: no bot token configured (SLACK_BOT_TOKEN)")
		return nil, "⚠️ This Sesame server has no Slack bot token configured (SLACK_BOT_TOKEN), so it cannot tell who you are. Ask a Sesame admin to set it."
	}
	m, err := h.Slack.Member(ctx, id)
	if err != nil {
		log.Warn("look up slack member", "err", err)
		return nil, "⚠️ " + sesame.ErrorMessage(err)
	}
	if m.Email == "" {
		return nil, slackNotLinked("")
	}
	u, err := h.Users.UserByEmail(ctx, m.Email)
	switch {
	case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		log.Info("slack member has no sesame account")
		return nil, slackNotLinked(m.Email)
	case err != nil:
		log.Error("find user by email", "err", err)
		return nil, "⚠️ " + sesame.ErrorMessage(err)
	case u.Banned:
		return nil, "🔒 Your Sesame account is suspended, so you cannot start tasks. Ask a Sesame admin."
	}
	return u, ""
}

// repositories lists what the GitHub App reaches, or says why it cannot.
func (h *SlackCommands) repositories(ctx context.Context, log *slog.Logger) ([]sesame.RepoRef, string) {
	if h.Repos == nil {
		return nil, "⚠️ This Sesame server has no GitHub App configured, so it cannot work on any repository."
	}
	repos, err := h.Repos.Repositories(ctx)
	if err != nil {
		log.Error("list repositories", "err", err)
		return nil, "⚠️ " + sesame.ErrorMessage(err)
	}
	return repos, ""
}

// refusal says why u may not start a task on repo, or "" when they may: the web app's rule, an admin
// on every repository, anyone else on one their connected GitHub login can write to, asked of GitHub
// for this request.
func (h *SlackCommands) refusal(ctx context.Context, log *slog.Logger, u *sesame.User, repo sesame.RepoRef) string {
	switch {
	case u.Role == sesame.RoleAdmin:
		return ""
	case h.Permissions == nil:
		return "🔒 Only Sesame admins can start tasks on this server: it has no GitHub App to check your access with."
	case u.GitHubLogin == "":
		return "🔒 Your Sesame account has no GitHub account connected, so Sesame cannot check that you may write to " +
			slackEscape(repo.FullName) + ". Sign in to Sesame and connect your GitHub account in Settings, then try again."
	}
	role, err := h.Permissions.Permission(ctx, repo.InstallationID, repo.FullName, u.GitHubLogin)
	if err != nil {
		log.Warn("check repository permission", "repo", repo.FullName, "github_login", u.GitHubLogin, "err", err)
		return fmt.Sprintf("⚠️ Sesame could not check @%s's access to %s with GitHub; try again in a moment.", u.GitHubLogin, slackEscape(repo.FullName))
	}
	switch role {
	case "admin", "maintain", "write":
		return ""
	case "", "none":
		role = "no"
	}
	return fmt.Sprintf("🔒 @%s has %s access to %s; starting a task there takes write access. Ask a maintainer to run it for you.",
		slackEscape(u.GitHubLogin), role, slackEscape(repo.FullName))
}

// findRepo returns the repository of repos named name, in any case, or nil.
func findRepo(repos []sesame.RepoRef, name string) *sesame.RepoRef {
	for i := range repos {
		if strings.EqualFold(repos[i].FullName, name) {
			return &repos[i]
		}
	}
	return nil
}

// ephemeral answers a slash command with text only its sender sees.
func ephemeral(c *gin.Context, text string) {
	c.JSON(http.StatusOK, gin.H{"response_type": "ephemeral", "text": text})
}

func (h *SlackCommands) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
