package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	sesame "github.com/sesame-works/sesame"
)

// Slack is Sesame's bot in a Slack workspace, through the Web API: it looks up who asked and posts,
// updates and answers the messages of tasks. It is safe for concurrent use.
type Slack struct {
	client *slack.Client

	mu      sync.Mutex
	members map[string]cachedMember
	now     func() time.Time
}

// SlackMember is a member of the workspace as users.info reports them.
type SlackMember struct {
	ID, Name string
	// Email is the member's email address, which Slack reports only once it is verified; "" for a
	// bot, or when the app lacks the users:read.email scope.
	Email string
}

type cachedMember struct {
	m  SlackMember
	at time.Time
}

// memberTTL is how long a member's email is trusted without asking Slack again: the slash commands
// of one person in a row cost one users.info call.
const memberTTL = 5 * time.Minute

// NewSlack returns the bot with token, calling the Web API at apiURL (SLACK_API_URL) through hc
// (http.DefaultClient when nil).
func NewSlack(token, apiURL string, hc *http.Client) *Slack {
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Slack{
		client:  slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(hc)),
		members: map[string]cachedMember{},
		now:     time.Now,
	}
}

// Member returns the workspace member with id (users.info), from a cache of memberTTL.
func (s *Slack) Member(ctx context.Context, id string) (SlackMember, error) {
	s.mu.Lock()
	c, ok := s.members[id]
	s.mu.Unlock()
	if ok && s.now().Sub(c.at) < memberTTL {
		return c.m, nil
	}
	u, err := s.client.GetUserInfoContext(ctx, id)
	if err != nil {
		return SlackMember{}, slackError("users.info", err)
	}
	m := SlackMember{ID: u.ID, Name: u.Name, Email: u.Profile.Email}
	if u.IsBot {
		m.Email = ""
	}
	s.mu.Lock()
	if len(s.members) > 10_000 {
		clear(s.members)
	}
	s.members[id] = cachedMember{m: m, at: s.now()}
	s.mu.Unlock()
	return m, nil
}

// Post posts a message in channel, in the thread of threadTS when not "", and returns its ts.
func (s *Slack) Post(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl()}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := s.client.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", slackError("chat.postMessage", err)
	}
	return ts, nil
}

// Update replaces the text and blocks of the message ts in channel; no blocks removes them.
func (s *Slack) Update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	_, _, _, err := s.client.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	return slackError("chat.update", err)
}

// Ephemeral shows text to user alone in channel.
func (s *Slack) Ephemeral(ctx context.Context, channel, user, text string) error {
	_, err := s.client.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
	return slackError("chat.postEphemeral", err)
}

// slackError wraps a Web API failure: a refusal of the app's token is the operator's to fix
// (EINTERNAL), anything else may pass (EUNAVAILABLE).
func slackError(method string, err error) error {
	if err == nil {
		return nil
	}
	code := sesame.EUNAVAILABLE
	msg := "Slack could not be reached; try again in a moment."
	if e, ok := err.(slack.SlackErrorResponse); ok {
		switch e.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "missing_scope", "not_allowed_token_type":
			code, msg = sesame.EINTERNAL, "Slack refused Sesame's bot token ("+e.Err+"); an admin should check SLACK_BOT_TOKEN and the app's scopes."
		case "user_not_found", "channel_not_found", "not_in_channel", "message_not_found":
			code, msg = sesame.ENOTFOUND, "Slack answered "+e.Err+"."
		}
	}
	return fmt.Errorf("slack %s: %w (%w)", method, err, sesame.Errorf(code, "%s", msg))
}
