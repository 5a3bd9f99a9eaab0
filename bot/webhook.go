// Package bot is Sesame's edge to chat and code hosts: it receives GitHub webhooks (and, later, Slack
// requests), verifies and parses them into tasks, and sends the replies (comments, reactions).
package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
)

// MaxWebhookBody is the largest webhook body accepted; GitHub caps its payloads at 25 MB.
const MaxWebhookBody = 25 << 20

// GitHubWebhook receives GitHub App webhooks at POST /webhooks/github. In the request it only
// verifies, parses, stores and enqueues; everything that calls GitHub back happens in the job.
type GitHubWebhook struct {
	Secret []byte // the app's webhook secret; empty refuses every delivery
	AppID  int64  // comments made through this app never trigger
	Tasks  sesame.TaskSubmitter
	Logger *slog.Logger
}

// Handle is the gin handler.
func (h *GitHubWebhook) Handle(c *gin.Context) {
	event := c.GetHeader("X-GitHub-Event")
	delivery := c.GetHeader("X-GitHub-Delivery")
	log := h.Logger.With("delivery_id", delivery, "event", event)

	if len(h.Secret) == 0 {
		log.Error("webhook refused: no webhook secret configured (GITHUB_WEBHOOK_SECRET)")
		fail(c, http.StatusServiceUnavailable, "This Sesame server has no GitHub webhook secret configured.")
		return
	}
	if c.Request.ContentLength > MaxWebhookBody {
		fail(c, http.StatusRequestEntityTooLarge, "Payload larger than 25 MB.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxWebhookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		fail(c, http.StatusRequestEntityTooLarge, "Payload larger than 25 MB.")
		return
	} else if err != nil {
		fail(c, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	if !validSignature(h.Secret, c.GetHeader("X-Hub-Signature-256"), body) {
		log.Warn("webhook refused: missing or wrong signature")
		fail(c, http.StatusUnauthorized, "Missing or invalid X-Hub-Signature-256.")
		return
	}
	if event == "" || delivery == "" {
		fail(c, http.StatusBadRequest, "Missing X-GitHub-Event or X-GitHub-Delivery header.")
		return
	}
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		fail(c, http.StatusUnsupportedMediaType, "Set the webhook content type to application/json.")
		return
	}

	switch event {
	case "ping":
		c.JSON(http.StatusOK, gin.H{"status": "pong"})
	case "issue_comment":
		h.issueComment(c, log, delivery, body)
	default:
		ignore(c, "event "+event+" is not handled")
	}
}

func (h *GitHubWebhook) issueComment(c *gin.Context, log *slog.Logger, delivery string, body []byte) {
	var ev issueCommentEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		fail(c, http.StatusBadRequest, "Malformed issue_comment payload.")
		return
	}
	if ev.Action != "created" {
		ignore(c, "issue_comment action "+ev.Action+" is not handled")
		return
	}
	if ev.Repository.FullName == "" || ev.Issue.Number <= 0 || ev.Comment.ID <= 0 || ev.Sender.Login == "" {
		fail(c, http.StatusBadRequest, "The issue_comment payload lacks its repository, issue, comment or sender.")
		return
	}
	if ev.Sender.Type == "Bot" || ev.Comment.User.Type == "Bot" {
		ignore(c, "comments by bots never trigger Sesame")
		return
	}
	if app := ev.Comment.PerformedViaGitHubApp; app != nil && h.AppID != 0 && app.ID == h.AppID {
		ignore(c, "comments made by this app never trigger Sesame")
		return
	}
	if ev.Installation == nil || ev.Installation.ID == 0 {
		ignore(c, "the delivery names no GitHub App installation")
		return
	}
	cmd, found, perr := command.Parse(ev.Comment.Body)
	if !found {
		ignore(c, "no /sesame command in the comment")
		return
	}

	r := sesame.Request{
		Source:         sesame.SourceGitHub,
		DeliveryID:     "github:" + delivery,
		Repo:           ev.Repository.FullName,
		InstallationID: ev.Installation.ID,
		IssueNumber:    ev.Issue.Number,
		IsPullRequest:  len(ev.Issue.PullRequest) > 0 && string(ev.Issue.PullRequest) != "null",
		CommentID:      ev.Comment.ID,
		CommentURL:     ev.Comment.HTMLURL,
		Requester:      ev.Sender.Login,
		RequesterID:    ev.Sender.ID,
	}
	var usage *command.UsageError
	switch {
	case errors.As(perr, &usage):
		r.Kind, r.Instruction = sesame.KindUsage, usage.Reason
	case perr != nil:
		r.Kind, r.Instruction = sesame.KindUsage, perr.Error()
	case cmd.Kind == command.KindHelp:
		r.Kind = sesame.KindHelp
	default:
		r.Kind, r.Instruction, r.Agent, r.Model = sesame.KindRun, cmd.Instruction, cmd.Agent, cmd.Model
	}

	t, created, err := h.Tasks.Submit(c.Request.Context(), r)
	if err != nil {
		log.Error("store task", "repo", r.Repo, "err", err)
		status := http.StatusInternalServerError
		if sesame.ErrorCode(err) == sesame.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		fail(c, status, sesame.ErrorMessage(err))
		return
	}
	if !created {
		log.Info("repeated delivery", "task_id", t.ID)
		c.JSON(http.StatusOK, gin.H{"status": "duplicate", "task_id": t.ID})
		return
	}
	log.Info("task created", "task_id", t.ID, "repo", r.Repo, "issue", r.IssueNumber, "kind", r.Kind, "requester", r.Requester)
	c.JSON(http.StatusAccepted, gin.H{"status": "queued", "task_id": t.ID})
}

// validSignature checks header, "sha256=" and a hex HMAC-SHA256 of body under secret, in constant time.
func validSignature(secret []byte, header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func ignore(c *gin.Context, reason string) {
	c.JSON(http.StatusOK, gin.H{"status": "ignored", "reason": reason})
}

func fail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}
