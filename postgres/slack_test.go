package postgres_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

func TestSlackChannelDefault(t *testing.T) {
	ctx := context.Background()
	channels := postgres.NewSlackChannels(MustOpen(t))
	if repo, err := channels.ChannelRepo(ctx, "T1", "C1"); err != nil || repo != "" {
		t.Fatalf("ChannelRepo before any = %q, %v; want none", repo, err)
	}
	for _, repo := range []string{"acme/web", "acme/api"} {
		if err := channels.SetChannelRepo(ctx, "T1", "C1", repo, "user-1"); err != nil {
			t.Fatal(err)
		}
		if got, err := channels.ChannelRepo(ctx, "T1", "C1"); err != nil || got != repo {
			t.Fatalf("ChannelRepo = %q, %v; want %q", got, err, repo)
		}
	}
	if repo, _ := channels.ChannelRepo(ctx, "T2", "C1"); repo != "" {
		t.Errorf("another team's channel C1 has %q; want none", repo)
	}
}

func TestSlackOriginRefAndProgressRef(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(MustOpen(t))
	r := request("slack:trigger-1")
	r.OriginRef = sesame.OriginRef{Workspace: "T1", Channel: "C1", ChannelName: "eng", User: "U1", UserName: "alice"}
	created, _, err := store.CreateTask(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetProgressRef(ctx, created.ID, "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	got, err := store.Task(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.OriginRef, got.OriginRef); diff != "" {
		t.Errorf("origin ref (-want +got):\n%s", diff)
	}
	if got.ProgressRef != "1700000000.000100" {
		t.Errorf("progress ref = %q", got.ProgressRef)
	}
	plain, _, err := store.CreateTask(ctx, request("github:plain"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Task(ctx, plain.ID); got.OriginRef != (sesame.OriginRef{}) || got.ProgressRef != "" {
		t.Errorf("a request without an origin ref reads back %v, %q; want none", got.OriginRef, got.ProgressRef)
	}
}
