package bot

import (
	"encoding/hex"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Slack's worked example, from "Verifying requests from Slack"
// (https://docs.slack.dev/authentication/verifying-requests-from-slack).
const (
	slackDocSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	slackDocTimestamp = "1531420618"
	slackDocBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackDocSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSlackSignatureDocVector(t *testing.T) {
	at := time.Unix(1531420618, 0)
	for _, tt := range []struct {
		name      string
		secret    string
		signature string
		timestamp string
		body      string
		now       time.Time
		want      error
	}{
		{name: "the documented request", secret: slackDocSecret, signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at},
		{name: "a minute later", secret: slackDocSecret, signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at.Add(time.Minute)},
		{name: "4m59s early (clock skew)", secret: slackDocSecret, signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at.Add(-299 * time.Second)},
		{name: "6 minutes later", secret: slackDocSecret, signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at.Add(6 * time.Minute), want: errSlackStale},
		{name: "another secret", secret: "8f742231b10e8888abcd99yyyzzz85a6", signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at, want: errSlackBadSignature},
		{name: "a changed body", secret: slackDocSecret, signature: slackDocSignature, timestamp: slackDocTimestamp, body: strings.Replace(slackDocBody, "text=", "text=rm", 1), now: at, want: errSlackBadSignature},
		{name: "another timestamp", secret: slackDocSecret, signature: slackDocSignature, timestamp: "1531420619", body: slackDocBody, now: at, want: errSlackBadSignature},
		{name: "no signature", secret: slackDocSecret, signature: "", timestamp: slackDocTimestamp, body: slackDocBody, now: at, want: errSlackNoSignature},
		{name: "v1 signature", secret: slackDocSecret, signature: "v1=" + slackDocSignature[3:], timestamp: slackDocTimestamp, body: slackDocBody, now: at, want: errSlackNoSignature},
		{name: "no timestamp", secret: slackDocSecret, signature: slackDocSignature, timestamp: "", body: slackDocBody, now: at, want: errSlackNoSignature},
		{name: "empty secret", secret: "", signature: slackDocSignature, timestamp: slackDocTimestamp, body: slackDocBody, now: at, want: errSlackBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/webhooks/slack/commands", strings.NewReader(tt.body))
			if tt.signature != "" {
				r.Header.Set("X-Slack-Signature", tt.signature)
			}
			if tt.timestamp != "" {
				r.Header.Set("X-Slack-Request-Timestamp", tt.timestamp)
			}
			v := SlackVerifier{Secret: []byte(tt.secret), Now: func() time.Time { return tt.now }}
			body, err := v.verify(nil, r)
			if err != tt.want {
				t.Fatalf("verify = %v, want %v", err, tt.want)
			}
			if err == nil && string(body) != tt.body {
				t.Errorf("verify returned body %q, want the request's", body)
			}
		})
	}
}

func TestSlackSignatureComputesDocVector(t *testing.T) {
	got := "v0=" + hexString(slackSignature([]byte(slackDocSecret), slackDocTimestamp, []byte(slackDocBody)))
	if got != slackDocSignature {
		t.Fatalf("signature = %s, want %s", got, slackDocSignature)
	}
}

func TestSlackSignatureBoundsTheBody(t *testing.T) {
	now := time.Now()
	big := strings.Repeat("a", maxSlackBody+1)
	r := httptest.NewRequest("POST", "/webhooks/slack/commands", strings.NewReader(big))
	r.Header.Set("X-Slack-Request-Timestamp", "0")
	r.Header.Set("X-Slack-Signature", slackDocSignature)
	// Stale first: the body is not read for a request signed long ago.
	if _, err := (SlackVerifier{Secret: []byte("s"), Now: func() time.Time { return now }}).verify(nil, r); err != errSlackStale {
		t.Fatalf("stale: %v", err)
	}
	ts := strconvItoa(now.Unix())
	r = httptest.NewRequest("POST", "/webhooks/slack/commands", strings.NewReader(big))
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", slackDocSignature)
	if _, err := (SlackVerifier{Secret: []byte("s"), Now: func() time.Time { return now }}).verify(nil, r); err != errSlackTooLarge {
		t.Fatalf("declared too large: %v", err)
	}
	r.ContentLength = -1 // chunked: read up to the bound only
	r.Body = httptest.NewRequest("POST", "/", strings.NewReader(big)).Body
	if _, err := (SlackVerifier{Secret: []byte("s"), Now: func() time.Time { return now }}).verify(nil, r); err != errSlackTooLarge {
		t.Fatalf("chunked too large: %v", err)
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }
