package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// SlackChannels keeps the repository each Slack channel's commands run on when they name none.
type SlackChannels struct {
	db *DB
}

// NewSlackChannels returns the channel defaults kept in db.
func NewSlackChannels(db *DB) *SlackChannels { return &SlackChannels{db: db} }

// ChannelRepo returns the default repository of the channel, or "" when it has none.
func (s *SlackChannels) ChannelRepo(ctx context.Context, teamID, channelID string) (string, error) {
	var repo string
	err := s.db.Pool.QueryRow(ctx, `SELECT repo FROM slack_channels WHERE team_id = $1 AND channel_id = $2`,
		teamID, channelID).Scan(&repo)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return repo, wrapErr("select slack channel", err)
}

// SetChannelRepo makes repo the default repository of the channel; by names the Sesame user who set it.
func (s *SlackChannels) SetChannelRepo(ctx context.Context, teamID, channelID, repo, by string) error {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO slack_channels (team_id, channel_id, repo, set_by)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (team_id, channel_id) DO UPDATE SET repo = $3, set_by = $4, updated_at = now()`,
		teamID, channelID, repo, by)
	return wrapErr("save slack channel", err)
}
