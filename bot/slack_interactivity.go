package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/slack-go/slack"

	sesame "github.com/sesame-works/sesame"
)

// TaskStopper asks for a task to be stopped, as the web page's Stop does. events.Recorder has it.
type TaskStopper interface {
	RequestStop(ctx context.Context, taskID, by string) (*sesame.Task, error)
}

// TaskReader reads a task. sesame.TaskStore has it.
type TaskReader interface {
	Task(ctx context.Context, id string) (*sesame.Task, error)
}

// SlackInteractivity receives clicks on the buttons of Sesame's messages at POST
// /webhooks/slack/interactivity (signed like slash commands; the body is payload= and the JSON of
// a block_actions interaction). The Stop button stops its task as the web page does, for the
// Sesame account that asked for it or an admin; anyone else is told, in a message only they see,
// that it is not theirs to stop.
type SlackInteractivity struct {
	Verifier SlackVerifier
	Commands *SlackCommands // finds the clicker's Sesame account as for a command
	Tasks    TaskReader
	Stopper  TaskStopper
	Logger   *slog.Logger
}

// Handle is the gin handler. Slack ignores the answer's body for block_actions: what the clicker
// should read goes to them as an ephemeral message.
func (h *SlackInteractivity) Handle(c *gin.Context) {
	log := h.logger()
	form, ok := slackForm(c, h.Verifier, log)
	if !ok {
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		fail(c, http.StatusBadRequest, "The payload is not an interaction's JSON.")
		return
	}
	if ic.Type != slack.InteractionTypeBlockActions {
		ignore(c, "interaction "+string(ic.Type)+" is not handled")
		return
	}
	var taskID string
	for _, a := range ic.ActionCallback.BlockActions {
		if a.ActionID == SlackStopAction {
			taskID = a.Value
		}
	}
	if taskID == "" {
		ignore(c, "no action Sesame handles")
		return
	}
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	log = log.With("task_id", taskID, "slack_user", ic.User.ID, "slack_channel", channel)
	ctx, cancel := context.WithTimeout(c.Request.Context(), slackIntakeTimeout)
	defer cancel()
	if msg := h.stop(ctx, log, slashCommand{teamID: ic.Team.ID, userID: ic.User.ID, userName: ic.User.Name}, taskID); msg != "" && h.Commands.Slack != nil && channel != "" {
		if err := h.Commands.Slack.Ephemeral(ctx, channel, ic.User.ID, msg); err != nil {
			log.Warn("tell the clicker", "err", err)
		}
	}
	c.Status(http.StatusOK)
}

// stop stops the task id for the Slack member who clicked, when it is theirs to stop, and returns
// what to tell them.
func (h *SlackInteractivity) stop(ctx context.Context, log *slog.Logger, member slashCommand, taskID string) string {
	u, why := h.Commands.requester(ctx, log, member)
	if u == nil {
		return why
	}
	t, err := h.Tasks.Task(ctx, taskID)
	switch {
	case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		return "⚠️ Sesame has no such task."
	case err != nil:
		log.Error("load task", "err", err)
		return "⚠️ " + sesame.ErrorMessage(err)
	case u.Role != sesame.RoleAdmin && (t.UserID == "" || t.UserID != u.ID):
		log.Info("stop refused: not the requester")
		return "🔒 This task is not yours to stop: only the person who asked for it, or a Sesame admin, can stop it."
	}
	_, err = h.Stopper.RequestStop(ctx, t.ID, u.Name)
	switch sesame.ErrorCode(err) {
	case "":
		log.Info("stop requested from slack", "user_id", u.ID)
		return ""
	case sesame.ECONFLICT:
		return "This task has already ended."
	default:
		log.Error("request stop", "err", err)
		return "⚠️ " + sesame.ErrorMessage(err)
	}
}

func (h *SlackInteractivity) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
