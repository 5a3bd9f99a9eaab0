package bot

import (
	"context"
	"fmt"

	sesame "github.com/sesame-works/sesame"
)

// MayStopOthers lets a requester with maintain or admin access to the repository stop the tasks
// others asked for in the thread (/sesame stop); anyone else may stop only their own. The runner
// posts the answers of status, stop and retry as they are (TaskReport.Text).
func (o *GitHubOrigin) MayStopOthers(ctx context.Context, t *sesame.Task) (bool, string, error) {
	role, err := o.GitHub.Permission(ctx, t.InstallationID, t.Repo, t.Requester)
	if err != nil {
		return false, "", err
	}
	switch role {
	case "admin", "maintain":
		return true, "", nil
	}
	return false, fmt.Sprintf("Stopping a task someone else asked for takes maintain or admin access to %s, and @%s has %s access.",
		t.Repo, t.Requester, role), nil
}
