package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub still sends the SHA-1 X-Hub-Signature beside the SHA-256 one.
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// hookshotUserAgent is the User-Agent of GitHub's webhook deliveries.
const hookshotUserAgent = "GitHub-Hookshot/abc123"

// SignPayload returns the X-Hub-Signature-256 header GitHub sends with body
// when the webhook secret is secret: "sha256=" and the hex HMAC-SHA256.
func SignPayload(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// signPayloadSHA1 returns the legacy X-Hub-Signature header.
func signPayloadSHA1(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// NewWebhookRequest builds the POST GitHub makes to deliver a webhook: the
// body as is, with the X-GitHub-Event, X-GitHub-Delivery, Content-Type and
// User-Agent headers GitHub sets, and, when secret is not empty, the
// X-Hub-Signature-256 (and legacy X-Hub-Signature) signatures; GitHub sends
// no signature for a webhook without a secret. It panics if url is invalid.
// Send it with an http.Client or hand it to a handler's ServeHTTP.
func NewWebhookRequest(url, event, deliveryID, secret string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic("githubtest: NewWebhookRequest: " + err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", hookshotUserAgent)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	if secret != "" {
		req.Header.Set("X-Hub-Signature", signPayloadSHA1(secret, body))
		req.Header.Set("X-Hub-Signature-256", SignPayload(secret, body))
	}
	return req
}
