package sesame

import (
	"context"
	"time"
)

// SlackLinkTTL is how long a one-time link to connect a Slack member to a Sesame account lasts.
const SlackLinkTTL = 15 * time.Minute

// SlackLinkRequest is a pending one-time link: a Slack member asked Sesame to know them as the
// Sesame user who opens it.
type SlackLinkRequest struct {
	TeamID     string
	SlackUser  string // the member's id
	SlackName  string // their handle, for the page that asks for confirmation
	ExpiresAt  time.Time
	LinkedUser string // set once consumed: the Sesame user it was linked to
}

// SlackLinks keeps which Sesame account a Slack member acts as, by a link they opened while signed in.
type SlackLinks interface {
	// SlackLinkedUser returns the Sesame user the member was linked to; ENOTFOUND when none.
	SlackLinkedUser(ctx context.Context, teamID, slackUser string) (*User, error)
	// NewSlackLink makes a one-time link token for the member, good for SlackLinkTTL.
	NewSlackLink(ctx context.Context, teamID, slackUser, slackName string) (token string, err error)
	// SlackLink returns the pending link of token; ENOTFOUND when unknown, used or expired.
	SlackLink(ctx context.Context, token string) (*SlackLinkRequest, error)
	// ConsumeSlackLink links the member of token to userID and makes the token unusable; ENOTFOUND
	// when it is unknown, used or expired.
	ConsumeSlackLink(ctx context.Context, token, userID string) (*SlackLinkRequest, error)
}
