// Package bot is Sesame's edge to chat and code hosts: it receives GitHub webhooks (and, later, Slack
// requests), verifies and parses them into tasks, and sends the replies (comments, reactions).
package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
)

// GitHubWebhook receives GitHub App webhooks at POST /webhooks/github. In the request it only
// verifies, parses, stores and enqueues; everything that calls GitHub back happens in the job.
type GitHubWebhook struct {
	Secret []byte // the app's webhook secret; empty refuses every delivery
	AppID  int64  // comments made through this app never trigger
	// Keys, when set, gives the secret and the app id at each delivery instead of Secret and AppID:
	// the app an admin creates from the manifest is answered at once, without a restart.
	Keys  func() (secret []byte, appID int64)
	Tasks sesame.TaskSubmitter
	// Comments changes or cancels the queued task of a comment that is edited or deleted; nil:
	// edits and deletions are ignored.
	Comments CommentTasks
	Logger   *slog.Logger
	// Bodies bounds the memory of the bodies being read and checked; the zero value is the default
	// budget (see BodyBudget).
	Bodies BodyBudget
}

func (h *GitHubWebhook) secret() []byte {
	if h.Keys != nil {
		s, _ := h.Keys()
		return s
	}
	return h.Secret
}

func (h *GitHubWebhook) appID() int64 {
	if h.Keys != nil {
		_, id := h.Keys()
		return id
	}
	return h.AppID
}

// webhookReadTimeout bounds the time a body may take to arrive, and so how long a slow sender holds
// its part of the budget. GitHub gives up on a delivery after 10 s.
const webhookReadTimeout = 20 * time.Second

// Handle is the gin handler.
func (h *GitHubWebhook) Handle(c *gin.Context) {
	event := c.GetHeader("X-GitHub-Event")
	delivery := c.GetHeader("X-GitHub-Delivery")
	log := h.Logger.With("delivery_id", delivery, "event", event)

	secret := h.secret()
	if len(secret) == 0 {
		log.Error("webhook refused: no webhook secret configured (GITHUB_WEBHOOK_SECRET)")
		fail(c, http.StatusServiceUnavailable, "This Sesame server has no GitHub webhook secret configured.")
		return
	}
	// A delivery without a well-formed signature is refused before its body is read.
	sig, ok := signatureHeader(c.GetHeader("X-Hub-Signature-256"))
	if !ok {
		log.Warn("webhook refused: missing or malformed signature")
		fail(c, http.StatusUnauthorized, "Missing or invalid X-Hub-Signature-256.")
		return
	}
	http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(webhookReadTimeout))
	body, held, err := h.Bodies.readBody(c.Request.Body, c.Request.ContentLength)
	defer held.release()
	switch {
	case errors.Is(err, errBodyTooLarge):
		fail(c, http.StatusRequestEntityTooLarge, "Payload larger than 25 MB.")
		return
	case errors.Is(err, errBodyBudget):
		log.Warn("webhook refused: the memory for unverified bodies is in use", "content_length", c.Request.ContentLength)
		c.Header("Retry-After", "2")
		fail(c, http.StatusServiceUnavailable, "Too many webhook bodies are being received; retry shortly.")
		return
	case err != nil:
		fail(c, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	if !signedBy(secret, sig, body) {
		log.Warn("webhook refused: wrong signature")
		fail(c, http.StatusUnauthorized, "Missing or invalid X-Hub-Signature-256.")
		return
	}
	if event == "" || delivery == "" {
		fail(c, http.StatusBadRequest, "Missing X-GitHub-Event or X-GitHub-Delivery header.")
		return
	}
	if !storable(delivery) || len(delivery) > 200 {
		fail(c, http.StatusBadRequest, "X-GitHub-Delivery must be printable text of at most 200 bytes.")
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
	case "pull_request_review_comment":
		h.reviewComment(c, log, delivery, body)
	default:
		ignore(c, "event "+event+" is not handled")
	}
}

func (h *GitHubWebhook) issueComment(c *gin.Context, log *slog.Logger, delivery string, body []byte) {
	ev, err := decodeIssueComment(body)
	if err != nil {
		fail(c, http.StatusBadRequest, "Malformed issue_comment payload.")
		return
	}
	switch ev.Action {
	case "created":
	case "edited", "deleted": // the request changed or withdrawn while its task waits (webhook_edit.go)
		h.commentChanged(c, log, ev)
		return
	default:
		ignore(c, "issue_comment action "+ev.Action+" is not handled")
		return
	}
	if ev.Repository.FullName == "" || ev.Issue.Number <= 0 || ev.Comment.ID <= 0 || ev.Sender.Login == "" {
		fail(c, http.StatusBadRequest, "The issue_comment payload lacks its repository, issue, comment or sender.")
		return
	}
	cmd, ok, perr := h.commandOf(c, ev.Sender, ev.Comment.User, ev.Comment.PerformedViaGitHubApp, ev.Installation, ev.Comment.Body)
	if !ok {
		return
	}

	r := sesame.Request{
		Source:         sesame.SourceGitHub,
		DeliveryID:     "github:" + delivery,
		RequestKey:     commentKey(ev.Installation.ID, ev.Comment.ID, ev.Action),
		Repo:           ev.Repository.FullName,
		InstallationID: ev.Installation.ID,
		IssueNumber:    ev.Issue.Number,
		IsPullRequest:  len(ev.Issue.PullRequest) > 0 && string(ev.Issue.PullRequest) != "null",
		CommentID:      ev.Comment.ID,
		CommentURL:     ev.Comment.HTMLURL,
		Requester:      ev.Sender.Login,
		RequesterID:    ev.Sender.ID,
	}
	if !storable(r.Repo, r.CommentURL, r.Requester) {
		fail(c, http.StatusBadRequest, "The issue_comment payload holds NUL or invalid UTF-8 in its repository, comment URL or sender.")
		return
	}
	h.submitCommand(c, log, r, cmd, perr)
}

// commandOf reads the /sesame command in a comment's body, written by author and delivered for
// sender through installation. When it holds none to act on (a bot's comment or this app's, a
// delivery for no installation, no command), it answers the delivery and ok is false; perr is the
// command's usage error.
func (h *GitHubWebhook) commandOf(c *gin.Context, sender, author ghUser, via *ghApp, installation *ghInstallation, body string) (cmd command.Command, ok bool, perr error) {
	if sender.Type == "Bot" || author.Type == "Bot" {
		ignore(c, "comments by bots never trigger Sesame")
		return cmd, false, nil
	}
	if appID := h.appID(); via != nil && appID != 0 && via.ID == appID {
		ignore(c, "comments made by this app never trigger Sesame")
		return cmd, false, nil
	}
	if installation == nil || installation.ID == 0 {
		ignore(c, "the delivery names no GitHub App installation")
		return cmd, false, nil
	}
	cmd, found, perr := command.Parse(body)
	if !found {
		ignore(c, "no /sesame command in the comment")
		return cmd, false, nil
	}
	return cmd, true, perr
}

// submitCommand stores and enqueues the task of request r for the parsed command cmd (or its parse
// error perr), and answers the delivery.
func (h *GitHubWebhook) submitCommand(c *gin.Context, log *slog.Logger, r sesame.Request, cmd command.Command, perr error) {
	var usage *command.UsageError
	switch {
	case errors.As(perr, &usage):
		r.Kind, r.Instruction = sesame.KindUsage, usage.Reason
	case perr != nil:
		r.Kind, r.Instruction = sesame.KindUsage, perr.Error()
	case cmd.Kind == command.KindHelp:
		r.Kind = sesame.KindHelp
	case cmd.Kind == command.KindStatus:
		r.Kind = sesame.KindStatus
	case cmd.Kind == command.KindStop:
		r.Kind = sesame.KindStop
	case cmd.Kind == command.KindRetry: // the flags replace the retried task's
		r.Kind, r.Agent, r.Model, r.Base, r.Budget = sesame.KindRetry, cmd.Agent, cmd.Model, cmd.Base, cmd.Budget
	default:
		r.Kind, r.Instruction, r.Agent, r.Model, r.Base = sesame.KindRun, cmd.Instruction, cmd.Agent, cmd.Model, cmd.Base
		r.Budget = cmd.Budget
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
	// At debug: the worker logs the task's life at info, and this line cost 5% of a delivery's CPU.
	log.Debug("task created", "task_id", t.ID, "repo", r.Repo, "issue", r.IssueNumber, "kind", r.Kind, "requester", r.Requester)
	c.JSON(http.StatusAccepted, gin.H{"status": "queued", "task_id": t.ID})
}

// signatureHeader reads X-Hub-Signature-256: "sha256=" and the hex of a SHA-256 HMAC.
func signatureHeader(header string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(hexSig)
	return sig, err == nil
}

// validSignature checks header, "sha256=" and a hex HMAC-SHA256 of body under secret, in constant time.
func validSignature(secret []byte, header string, body []byte) bool {
	sig, ok := signatureHeader(header)
	return ok && signedBy(secret, sig, body)
}

// signedBy reports whether sig is the HMAC-SHA256 of body under secret, in constant time.
func signedBy(secret, sig, body []byte) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

func ignore(c *gin.Context, reason string) {
	c.JSON(http.StatusOK, gin.H{"status": "ignored", "reason": reason})
}

func fail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

// storable reports whether every s is text PostgreSQL keeps: valid UTF-8 without NUL. The delivery
// header is not signed, and JSON may carry "\u0000": such a request is refused as malformed
// rather than failing in the store. (A comment's body is checked by command.Parse.)
func storable(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}
