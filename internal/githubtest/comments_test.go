package githubtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

func TestCreateEditGetComment(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	c := installationClient(t, s, 7)
	ctx := context.Background()

	created, resp, err := c.Issues.CreateComment(ctx, "octo", "hello", 12, &github.IssueComment{Body: new("Working on it <3")})
	if err != nil {
		t.Fatalf("CreateComment: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	id := created.GetID()
	if id <= 1<<31 {
		t.Errorf("id = %d, want one past int32 as GitHub's are", id)
	}
	bot := "sesame-test%5Bbot%5D"
	want := &github.IssueComment{
		ID:                new(id),
		NodeID:            created.NodeID,
		Body:              new("Working on it <3"),
		AuthorAssociation: new("NONE"),
		URL:               new(fmt.Sprintf("%s/repos/octo/hello/issues/comments/%d", s.URL, id)),
		HTMLURL:           new(fmt.Sprintf("%s/octo/hello/issues/12#issuecomment-%d", s.URL, id)),
		IssueURL:          new(s.URL + "/repos/octo/hello/issues/12"),
		CreatedAt:         created.CreatedAt,
		UpdatedAt:         created.CreatedAt,
		Reactions: &github.Reactions{
			TotalCount: new(0), PlusOne: new(0), MinusOne: new(0), Laugh: new(0),
			Confused: new(0), Heart: new(0), Hooray: new(0), Rocket: new(0), Eyes: new(0),
			URL: new(fmt.Sprintf("%s/repos/octo/hello/issues/comments/%d/reactions", s.URL, id)),
		},
		User: &github.User{
			Login:             new("sesame-test[bot]"),
			ID:                created.GetUser().ID,
			NodeID:            created.GetUser().NodeID,
			AvatarURL:         new(fmt.Sprintf("%s/avatars/in/%d?v=4", s.URL, s.AppID)),
			GravatarID:        new(""),
			URL:               new(s.URL + "/users/" + bot),
			HTMLURL:           new(s.URL + "/apps/sesame-test"),
			FollowersURL:      new(s.URL + "/users/" + bot + "/followers"),
			FollowingURL:      new(s.URL + "/users/" + bot + "/following{/other_user}"),
			GistsURL:          new(s.URL + "/users/" + bot + "/gists{/gist_id}"),
			StarredURL:        new(s.URL + "/users/" + bot + "/starred{/owner}{/repo}"),
			SubscriptionsURL:  new(s.URL + "/users/" + bot + "/subscriptions"),
			OrganizationsURL:  new(s.URL + "/users/" + bot + "/orgs"),
			ReposURL:          new(s.URL + "/users/" + bot + "/repos"),
			EventsURL:         new(s.URL + "/users/" + bot + "/events{/privacy}"),
			ReceivedEventsURL: new(s.URL + "/users/" + bot + "/received_events"),
			Type:              new("Bot"),
			SiteAdmin:         new(false),
		},
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created comment (-want +got):\n%s", diff)
	}
	if created.GetNodeID() == "" || created.GetUser().GetID() == 0 || created.GetCreatedAt().IsZero() {
		t.Errorf("node_id, user.id or created_at empty: %v", created)
	}

	s.Advance(2 * time.Second)
	edited, resp, err := c.Issues.EditComment(ctx, "octo", "hello", id, &github.IssueComment{Body: new("Done: #13")})
	if err != nil {
		t.Fatalf("EditComment: %v", err)
	}
	if resp.StatusCode != http.StatusOK || edited.GetBody() != "Done: #13" || !edited.GetUpdatedAt().After(edited.GetCreatedAt().Time) {
		t.Errorf("edited = %d %v", resp.StatusCode, edited)
	}
	got, _, err := c.Issues.GetComment(ctx, "octo", "hello", id)
	if err != nil {
		t.Fatalf("GetComment: %v", err)
	}
	if diff := cmp.Diff(edited, got); diff != "" {
		t.Errorf("GetComment differs from the edit's answer (-edit +get):\n%s", diff)
	}

	wantState := []githubtest.Comment{{ID: id, Repo: "octo/hello", IssueNumber: 12, User: "sesame-test[bot]", Body: "Done: #13"}}
	if diff := cmp.Diff(wantState, s.Comments("Octo/Hello"), cmpopts.IgnoreFields(githubtest.Comment{}, "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("Comments (-want +got):\n%s", diff)
	}

	raw := rawCall(t, c, "GET", fmt.Sprintf("repos/octo/hello/issues/comments/%d", id), nil)
	if got, want := undecoded(t, raw, new(github.IssueComment)), []string{"performed_via_github_app", "user.user_view_type"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}
	if !strings.Contains(string(raw), `"performed_via_github_app":{"id":424242,`) || !strings.Contains(string(raw), `"slug":"sesame-test"`) {
		t.Errorf("performed_via_github_app missing from %s", raw)
	}
}

func TestCommentErrors(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello", "octo/world")
	c := installationClient(t, s, 7)
	ctx := context.Background()
	other := s.AddComment(githubtest.Comment{Repo: "octo/world", IssueNumber: 1, User: "alice", Body: "hi"})

	_, _, err := c.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{Body: new(" ")})
	er := wantAPIError(t, err, http.StatusUnprocessableEntity, "Validation Failed")
	if len(er.Errors) != 1 || er.Errors[0].Message != "Body cannot be blank" {
		t.Errorf("errors = %+v", er.Errors)
	}
	_, _, err = c.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{Body: new(strings.Repeat("é", 65537))})
	er = wantAPIError(t, err, http.StatusUnprocessableEntity, "Validation Failed")
	if len(er.Errors) != 1 || er.Errors[0].Message != "Body is too long (maximum is 65536 characters)" {
		t.Errorf("errors = %+v", er.Errors)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{Body: new(strings.Repeat("é", 65536))}); err != nil {
		t.Errorf("65536 characters: %v", err)
	}
	_, _, err = c.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{})
	wantAPIError(t, err, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
	_, _, err = c.Issues.EditComment(ctx, "octo", "hello", other.ID, &github.IssueComment{Body: new("x")})
	wantAPIError(t, err, http.StatusNotFound, "Not Found") // the comment is on octo/world
	_, _, err = c.Issues.GetComment(ctx, "octo", "hello", 1)
	wantAPIError(t, err, http.StatusNotFound, "Not Found")

	got, _, err := c.Issues.GetComment(ctx, "octo", "world", other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetUser().GetLogin() != "alice" || got.GetUser().GetType() != "User" || got.GetBody() != "hi" {
		t.Errorf("seeded comment = %v", got)
	}
}

func TestReactions(t *testing.T) {
	s := githubtest.NewServer(t)
	s.AddInstallation(7, "octo/hello")
	c := installationClient(t, s, 7)
	ctx := context.Background()
	cm := s.AddComment(githubtest.Comment{ID: 492700400, Repo: "octo/hello", IssueNumber: 1, User: "alice", Body: "/sesame fix this"})

	first, resp, err := c.Reactions.CreateIssueCommentReaction(ctx, "octo", "hello", cm.ID, "eyes")
	if err != nil {
		t.Fatalf("CreateIssueCommentReaction: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	// go-github v66 has no Reaction.CreatedAt: the undecoded fields at the end show that created_at is sent.
	if first.GetID() == 0 || first.GetNodeID() == "" || first.GetContent() != "eyes" ||
		first.GetUser().GetLogin() != "sesame-test[bot]" || first.GetUser().GetType() != "Bot" {
		t.Errorf("reaction = %v", first)
	}
	again, resp, err := c.Reactions.CreateIssueCommentReaction(ctx, "octo", "hello", cm.ID, "eyes")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || again.GetID() != first.GetID() {
		t.Errorf("same reaction again = %d id %d, want 200 id %d", resp.StatusCode, again.GetID(), first.GetID())
	}
	if _, _, err := c.Reactions.CreateIssueCommentReaction(ctx, "octo", "hello", cm.ID, "+1"); err != nil {
		t.Fatal(err)
	}

	_, _, err = c.Reactions.CreateIssueCommentReaction(ctx, "octo", "hello", cm.ID, "thumbsup")
	er := wantAPIError(t, err, http.StatusUnprocessableEntity, "Validation Failed")
	if len(er.Errors) != 1 || er.Errors[0].Resource != "Reaction" || er.Errors[0].Field != "content" {
		t.Errorf("errors = %+v", er.Errors)
	}
	_, _, err = c.Reactions.CreateIssueCommentReaction(ctx, "octo", "hello", 1, "eyes")
	wantAPIError(t, err, http.StatusNotFound, "Not Found")

	if diff := cmp.Diff([]string{"eyes", "+1"}, s.Reactions("octo/hello", cm.ID)); diff != "" {
		t.Errorf("Reactions (-want +got):\n%s", diff)
	}
	got, _, err := c.Issues.GetComment(ctx, "octo", "hello", cm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetReactions(); r.GetTotalCount() != 2 || r.GetEyes() != 1 || r.GetPlusOne() != 1 {
		t.Errorf("reactions rollup = %v", r)
	}

	raw := rawCall(t, c, "POST", fmt.Sprintf("repos/octo/hello/issues/comments/%d/reactions", cm.ID), map[string]string{"content": "rocket"})
	if got, want := undecoded(t, raw, new(github.Reaction)), []string{"created_at", "user.user_view_type"}; !cmp.Equal(got, want) {
		t.Errorf("fields go-github does not decode = %v, want %v", got, want)
	}
}
