package githubtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestGetPermissionLevel(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world")
	c := installationClient(t, s, 7)

	tests := []struct {
		role, permission string
		perms            map[string]bool
	}{
		{"admin", "admin", map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}},
		{"maintain", "write", map[string]bool{"admin": false, "maintain": true, "push": true, "triage": true, "pull": true}},
		{"write", "write", map[string]bool{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}},
		{"triage", "read", map[string]bool{"admin": false, "maintain": false, "push": false, "triage": true, "pull": true}},
		{"read", "read", map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": true}},
		{"none", "none", map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": false}},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			login := "user-" + tc.role
			s.SetPermission("octo/hello", login, tc.role)
			got, resp, err := c.Repositories.GetPermissionLevel(context.Background(), "octo", "hello", login)
			if err != nil {
				t.Fatalf("GetPermissionLevel: %v", err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d", resp.StatusCode)
			}
			if got.GetPermission() != tc.permission || got.GetRoleName() != tc.role {
				t.Errorf("permission, role_name = %q, %q; want %q, %q", got.GetPermission(), got.GetRoleName(), tc.permission, tc.role)
			}
			u := got.GetUser()
			if u.GetLogin() != login || u.GetID() == 0 || u.GetType() != "User" || u.GetNodeID() == "" ||
				u.GetURL() != s.URL+"/users/"+login || u.GetHTMLURL() != s.URL+"/"+login || u.GetRoleName() != tc.role {
				t.Errorf("user = %v", u)
			}
			if diff := cmp.Diff(tc.perms, u.GetPermissions()); diff != "" {
				t.Errorf("user.permissions (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no role on this repository", func(t *testing.T) {
		got, _, err := c.Repositories.GetPermissionLevel(context.Background(), "octo", "world", "user-admin")
		if err != nil {
			t.Fatal(err)
		}
		if got.GetPermission() != "none" || got.GetRoleName() != "none" {
			t.Errorf("permission, role_name = %q, %q; want none, none", got.GetPermission(), got.GetRoleName())
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, _, err := c.Repositories.GetPermissionLevel(context.Background(), "octo", "hello", "nobody")
		wantAPIError(t, err, http.StatusNotFound, "Not Found")
	})
	t.Run("every field decoded", func(t *testing.T) {
		raw := rawCall(t, c, "GET", "repos/octo/hello/collaborators/user-write/permission", nil)
		got := undecoded(t, raw, new(github.RepositoryPermissionLevel))
		if want := []string{"user.user_view_type"}; !cmp.Equal(got, want) {
			t.Errorf("fields go-github does not decode = %v, want %v", got, want)
		}
	})
}
