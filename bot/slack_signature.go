package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Slack signs every request it sends (slash commands, button clicks) with the app's signing secret:
// X-Slack-Signature is "v0=" and the hex of HMAC-SHA256("v0:{X-Slack-Request-Timestamp}:{body}").
// A request is taken only when its signature matches, compared in constant time, and its timestamp
// is within five minutes of now, so that a recorded request cannot be played again later.
const (
	// SlackMaxSkew is how far a request's timestamp may be from now.
	SlackMaxSkew = 5 * time.Minute
	// maxSlackBody is the largest body read from Slack: a slash command is a few hundred bytes, a
	// block_actions payload (it carries the message's blocks) a few KB.
	maxSlackBody = 256 << 10
	// slackReadTimeout bounds the time a body may take to arrive. Slack waits 3 s for the answer.
	slackReadTimeout = 5 * time.Second
)

// Why a Slack request was refused, for the log; the sender gets one message for all of them.
var (
	errSlackNoSignature  = errors.New("missing or malformed X-Slack-Signature or X-Slack-Request-Timestamp")
	errSlackStale        = errors.New("timestamp more than 5 minutes from now")
	errSlackBadSignature = errors.New("wrong signature")
	errSlackTooLarge     = errors.New("body larger than 256 KB")
)

// slackSignature computes Slack's v0 signature of body sent at timestamp under secret.
func slackSignature(secret []byte, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// SlackVerifier checks that requests come from Slack.
type SlackVerifier struct {
	Secret []byte           // the app's signing secret; empty refuses every request
	Now    func() time.Time // time.Now when nil
}

// verify reads r's body, at most maxSlackBody bytes, and returns it when r is signed by Slack within
// SlackMaxSkew of now. The headers are checked before the body is read, which must arrive within
// slackReadTimeout (set on w's connection; w may be nil).
func (v SlackVerifier) verify(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	sigHex, ok := strings.CutPrefix(r.Header.Get("X-Slack-Signature"), "v0=")
	if !ok || len(sigHex) != 2*sha256.Size || ts == "" {
		return nil, errSlackNoSignature
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return nil, errSlackNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, errSlackNoSignature
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(time.Unix(sec, 0)); skew > SlackMaxSkew || skew < -SlackMaxSkew {
		return nil, errSlackStale
	}
	if r.ContentLength > maxSlackBody {
		return nil, errSlackTooLarge
	}
	if w != nil {
		http.NewResponseController(w).SetReadDeadline(now().Add(slackReadTimeout))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSlackBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxSlackBody {
		return nil, errSlackTooLarge
	}
	if !hmac.Equal(sig, slackSignature(v.Secret, ts, body)) || len(v.Secret) == 0 {
		return nil, errSlackBadSignature
	}
	return body, nil
}
