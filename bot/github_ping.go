package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// pingTimeout bounds a webhook self-check.
const pingTimeout = 10 * time.Second

// PingWebhook sends webhookURL a ping delivery signed with secret, as GitHub sends one when an app is
// created, and checks that Sesame answered it: that the address GitHub is given reaches a Sesame
// with the same webhook secret. Its error says what failed, in words, without the secret.
func PingWebhook(ctx context.Context, hc *http.Client, webhookURL string, secret []byte) error {
	if len(secret) == 0 {
		return sesame.Errorf(sesame.EINVALID, "There is no webhook secret (GITHUB_WEBHOOK_SECRET) to sign the ping with.")
	}
	if hc == nil {
		hc = &http.Client{Timeout: pingTimeout}
	}
	body, _ := json.Marshal(map[string]any{"zen": "Sesame checks its own webhook.", "hook_id": 0,
		"hook": map[string]any{"type": "App", "active": true, "config": map[string]any{"url": webhookURL, "content_type": "json"}}})
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	id := make([]byte, 16)
	rand.Read(id)
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return sesame.Errorf(sesame.EINVALID, "The webhook address %q is not a URL.", webhookURL)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sesame-Webhook-Check")
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-GitHub-Delivery", "sesame-check-"+hex.EncodeToString(id))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("ping %s: %w", webhookURL, sesame.Errorf(sesame.EUNAVAILABLE,
			"%s could not be reached from this server (%v). GitHub sends webhooks to BASE_URL: check that it is this server's public address.",
			webhookURL, unwrapURLError(err)))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var pong struct {
		Status string `json:"status"`
	}
	switch {
	case resp.StatusCode == http.StatusOK && json.Unmarshal(answer, &pong) == nil && pong.Status == "pong":
		return nil
	case resp.StatusCode == http.StatusUnauthorized:
		return sesame.Errorf(sesame.EINVALID, "%s answered that the signature is wrong: the Sesame there has another webhook secret.", webhookURL)
	case resp.StatusCode == http.StatusServiceUnavailable:
		return sesame.Errorf(sesame.EUNAVAILABLE, "%s answered 503: the Sesame there has no webhook secret yet.", webhookURL)
	default:
		return sesame.Errorf(sesame.EUNAVAILABLE, "%s answered %d, not Sesame's pong: is BASE_URL this server's address?", webhookURL, resp.StatusCode)
	}
}

// unwrapURLError keeps the cause of a failed request without repeating its method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
