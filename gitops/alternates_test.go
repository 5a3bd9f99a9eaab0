package gitops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// twoMirrors is a fixture whose cache also mirrors acme/secret, another
// repository of the same installation, and a workspace of acme/widget.
func twoMirrors(t *testing.T, branch string) (f *fixture, dir, secret string) {
	t.Helper()
	f = newFixture(t, false)
	f.srv.newRepo(t, "acme", "secret", map[string]string{"credentials.txt": "the crown jewels\n"})
	var err error
	if secret, err = f.cache.Sync(context.Background(), f.srv.repoURL("acme", "secret"), testToken); err != nil {
		t.Fatal(err)
	}
	_, dir = f.checkout(t, "main", branch)
	return f, dir, secret
}

func TestCheckAlternates(t *testing.T) {
	f, _, secret := twoMirrors(t, "sesame/0-unused-000000")
	write := func(t *testing.T, p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(t *testing.T, target, p string) {
		t.Helper()
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir, mirror string) // objects is dir's .git/objects
		ok     bool
	}{
		{name: "as Checkout made it", ok: true, tamper: func(*testing.T, string, string) {}},
		{name: "without the last newline", ok: true, tamper: func(t *testing.T, dir, mirror string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), filepath.Join(mirror, "objects"))
		}},
		{name: "another mirror", tamper: func(t *testing.T, dir, _ string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), filepath.Join(secret, "objects")+"\n")
		}},
		{name: "an extra line", tamper: func(t *testing.T, dir, mirror string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), filepath.Join(mirror, "objects")+"\n"+filepath.Join(secret, "objects")+"\n")
		}},
		{name: "a relative path to the mirror", tamper: func(t *testing.T, dir, mirror string) {
			objects := filepath.Join(dir, ".git", "objects")
			r, err := filepath.Rel(objects, filepath.Join(mirror, "objects"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(objects, "info", "alternates"), r+"\n")
		}},
		{name: "a comment", tamper: func(t *testing.T, dir, mirror string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), "# borrowed\n"+filepath.Join(mirror, "objects")+"\n")
		}},
		{name: "the mirror by another spelling", tamper: func(t *testing.T, dir, mirror string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), mirror+"/./objects\n")
		}},
		{name: "empty", tamper: func(t *testing.T, dir, _ string) {
			write(t, filepath.Join(dir, ".git/objects/info/alternates"), "")
		}},
		{name: "missing", tamper: func(t *testing.T, dir, _ string) {
			os.Remove(filepath.Join(dir, ".git/objects/info/alternates"))
		}},
		{name: "http-alternates", tamper: func(t *testing.T, dir, _ string) {
			write(t, filepath.Join(dir, ".git/objects/info/http-alternates"), "http://127.0.0.1:1/secret.git/objects\n")
		}},
		{name: "alternates is a link", tamper: func(t *testing.T, dir, mirror string) {
			p := filepath.Join(t.TempDir(), "alternates")
			write(t, p, filepath.Join(mirror, "objects")+"\n")
			link(t, p, filepath.Join(dir, ".git/objects/info/alternates"))
		}},
		{name: "objects is a link to another mirror's", tamper: func(t *testing.T, dir, _ string) {
			link(t, filepath.Join(secret, "objects"), filepath.Join(dir, ".git", "objects"))
		}},
		{name: "the pack folder is a link to another mirror's", tamper: func(t *testing.T, dir, _ string) {
			link(t, filepath.Join(secret, "objects", "pack"), filepath.Join(dir, ".git", "objects", "pack"))
		}},
		{name: "a loose object folder is a link", tamper: func(t *testing.T, dir, _ string) {
			link(t, t.TempDir(), filepath.Join(dir, ".git", "objects", "ab"))
		}},
		{name: "a FIFO among the packs", tamper: func(t *testing.T, dir, _ string) {
			if err := syscall.Mkfifo(filepath.Join(dir, ".git", "objects", "pack", "pack-x.pack"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: ".git is a link", tamper: func(t *testing.T, dir, _ string) {
			elsewhere := filepath.Join(t.TempDir(), "git")
			if err := os.Rename(filepath.Join(dir, ".git"), elsewhere); err != nil {
				t.Fatal(err)
			}
			link(t, elsewhere, filepath.Join(dir, ".git"))
		}},
		{name: ".git is a file", tamper: func(t *testing.T, dir, _ string) {
			os.RemoveAll(filepath.Join(dir, ".git"))
			write(t, filepath.Join(dir, ".git"), "gitdir: "+secret+"\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			branch := "sesame/" + string(rune('a'+i)) + "-alternates-aaaaaa"
			mirror, dir := f.checkout(t, "main", branch)
			if err := os.WriteFile(filepath.Join(dir, "agent.txt"), []byte("agent\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, dir, mirror)
			err := CheckAlternates(dir, mirror)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckAlternates = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrObjectStore) {
				t.Fatalf("CheckAlternates = %v, want ErrObjectStore", err)
			}
			if _, _, err := Commit(dir, mirror, testSig, "Agent", false); !errors.Is(err, ErrObjectStore) {
				t.Errorf("Commit = %v, want ErrObjectStore", err)
			}
			if err := Push(context.Background(), dir, mirror, f.url, testToken, branch); !errors.Is(err, ErrObjectStore) {
				t.Errorf("Push = %v, want ErrObjectStore", err)
			}
			if _, err := runTestGit(context.Background(), f.srv.gitDir("acme", "widget"), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
				t.Error("the branch was pushed")
			}
		})
	}
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	for _, r := range f.srv.requests {
		if strings.Contains(r, "receive-pack") {
			t.Errorf("a push reached the server: %s", r)
		}
	}
}

// TestPushRefusesForeignObjects: an agent that knows where the server keeps
// its mirrors borrows another repository's objects and points its branch at
// that repository's commit; Push must not send them to this repository.
func TestPushRefusesForeignObjects(t *testing.T) {
	const branch = "sesame/1-exfiltrate-aaaaaa"
	for _, tc := range []struct {
		name   string
		borrow func(t *testing.T, dir, mirror, secret string)
	}{
		{"alternates", func(t *testing.T, dir, mirror, secret string) {
			alt := filepath.Join(mirror, "objects") + "\n" + filepath.Join(secret, "objects") + "\n"
			if err := os.WriteFile(filepath.Join(dir, ".git", "objects", "info", "alternates"), []byte(alt), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"linked packs", func(t *testing.T, dir, _, secret string) {
			pack := filepath.Join(dir, ".git", "objects", "pack")
			if err := os.RemoveAll(pack); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(secret, "objects", "pack"), pack); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, dir, secret := twoMirrors(t, branch)
			ctx := context.Background()
			stolen := mustGit(t, ctx, secret, "rev-parse", "main")
			tc.borrow(t, dir, f.mirror, secret)
			ref := filepath.Join(dir, ".git", "refs", "heads", branch)
			if err := os.WriteFile(ref, []byte(stolen+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			err := Push(ctx, dir, f.mirror, f.url, testToken, branch)
			if !errors.Is(err, ErrObjectStore) {
				t.Errorf("Push = %v, want ErrObjectStore", err)
			}
			widget := f.srv.gitDir("acme", "widget")
			if _, err := runTestGit(ctx, widget, "cat-file", "-e", stolen); err == nil {
				t.Error("acme/secret's commit reached acme/widget")
			}
			if _, _, err := Commit(dir, f.mirror, testSig, "Agent", false); !errors.Is(err, ErrObjectStore) {
				t.Errorf("Commit = %v, want ErrObjectStore", err)
			}
		})
	}
}
