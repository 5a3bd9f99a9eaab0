package admin

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

const maxPrompt = 8000 // runes, as a /sesame comment

var (
	noncePattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

type taskListView struct {
	Tasks    []*sesame.Task
	AllUsers bool
}

func (a *App) taskList(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	f := sesame.TaskFilter{UserID: u.ID, Limit: 100}
	if u.Role == sesame.RoleAdmin {
		f.UserID = ""
	}
	tasks, err := a.Tasks.ListTasks(r.Context(), f)
	if err != nil {
		a.serverError(w, r, "list tasks", err)
		return
	}
	a.render(w, r, http.StatusOK, "tasks", "Tasks", taskListView{Tasks: tasks, AllUsers: f.UserID == ""})
}

// taskFormView is the new-task form: its choices, the values entered and what is wrong with them.
type taskFormView struct {
	Repos    []sesame.RepoRef
	ReposErr string
	Agents   []agentChoice // the agents Sesame can run, from the catalog
	Nonce    string
	Repo     string
	Agent    string
	Model    string
	Prompt   string
	Sandbox  bool
	// SandboxRequired: the admin default (sandbox.security.enabled) is on and users may not turn it off
	// (sandbox.security.allowDisable), so every task from the form runs with sandbox security.
	SandboxRequired bool
	// SandboxDefault: sandbox security is on unless the user turns it off.
	SandboxDefault bool
	KeepAlive      bool
	Error          string
	// Unavailable are the repositories the App reaches that the user may not start tasks on, and why.
	Unavailable []repoNote
	// ConnectGitHub: the user has not connected a GitHub login, so the form links to Settings.
	ConnectGitHub bool
	// ByAccess: the repositories are those the user's GitHub login can write to, not all of them.
	ByAccess bool
}

// agentChoice is one agent the form offers: its catalog name, sent back, and its title, shown.
type agentChoice struct{ Name, Title string }

func (a *App) taskForm(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	byDefault, required := a.sandboxDefaults(r)
	v := taskFormView{Agent: "claude", Sandbox: byDefault, SandboxRequired: required, SandboxDefault: byDefault, Nonce: newNonce()}
	a.loadRepos(r, &v)
	a.offerRepos(r.Context(), u, &v)
	a.render(w, r, http.StatusOK, "task_new", "New task", v)
}

func (a *App) loadRepos(r *http.Request, v *taskFormView) {
	for _, e := range agent.Runnable() {
		v.Agents = append(v.Agents, agentChoice{Name: e.Name, Title: e.Title})
	}
	if a.Repos == nil {
		v.ReposErr = "No GitHub App is configured on this server (GITHUB_APP_ID), so there are no repositories to choose from."
		return
	}
	repos, err := a.Repos.Repositories(r.Context())
	if err != nil {
		a.Logger.Error("list repositories", "err", err)
		v.ReposErr = sesame.ErrorMessage(err)
		return
	}
	v.Repos = repos
	if len(repos) == 0 {
		v.ReposErr = "The GitHub App is not installed on any repository yet. Install it on a repository, then reload this page."
	}
}

// createTask submits the form through the same submitter as GitHub comments, then shows the task.
// Submitting the same form twice (a double click, a resent POST) returns the task made the first time.
func (a *App) createTask(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form could not be read (is the prompt too long?).")
		return
	}
	f := r.PostForm
	v := taskFormView{
		Nonce: f.Get("nonce"), Repo: strings.TrimSpace(f.Get("repo")), Agent: strings.TrimSpace(f.Get("agent")),
		Model: strings.TrimSpace(f.Get("model")), Prompt: strings.TrimSpace(f.Get("prompt")),
		Sandbox: f.Get("sandbox") == "on", KeepAlive: f.Get("keep_alive") == "on",
	}
	if !noncePattern.MatchString(v.Nonce) {
		v.Nonce = newNonce()
	}
	// The switch works only within the admin's policy: when security is required it is on whatever was
	// posted. The worker applies the policy again when the task starts.
	if v.SandboxDefault, v.SandboxRequired = a.sandboxDefaults(r); v.SandboxRequired {
		v.Sandbox = true
	}
	a.loadRepos(r, &v)
	var repo *sesame.RepoRef
	for i := range v.Repos {
		if strings.EqualFold(v.Repos[i].FullName, v.Repo) {
			repo = &v.Repos[i]
		}
	}
	switch modelErr := sesame.CheckModel(v.Model); {
	case v.ReposErr != "":
		v.Error = v.ReposErr
	case repo == nil:
		v.Error = "Choose one of the repositories the GitHub App can reach."
	case !slices.ContainsFunc(v.Agents, func(c agentChoice) bool { return c.Name == v.Agent }):
		v.Error = "Choose one of the agents listed."
	case modelErr != nil: // the check a /sesame comment's --model gets
		msg := modelErr.Error()
		v.Error = strings.ToUpper(msg[:1]) + msg[1:] + ". Leave it empty for the agent's default."
	case v.Prompt == "":
		v.Error = "Say what the agent should do."
	case utf8.RuneCountInString(v.Prompt) > maxPrompt:
		v.Error = "The prompt is too long: keep it under 8,000 characters."
	}
	// Never trust the form: whether u may start a task on the repository is asked of GitHub again.
	status := http.StatusUnprocessableEntity
	if v.Error == "" {
		if why := a.refusal(r.Context(), u, *repo, true); why != "" {
			a.Logger.Info("web task refused", "user_id", u.ID, "repo", repo.FullName, "reason", why)
			v.Error, v.ConnectGitHub, status = why, u.GitHubLogin == "" && a.Permissions != nil, http.StatusForbidden
		}
	}
	if v.Error != "" {
		a.offerRepos(r.Context(), u, &v)
		a.render(w, r, status, "task_new", "New task", v)
		return
	}
	sandbox := v.Sandbox
	t, created, err := a.Submitter.Submit(r.Context(), sesame.Request{
		Source:          sesame.SourceWeb,
		DeliveryID:      "web:" + u.ID + ":" + v.Nonce,
		Kind:            sesame.KindRun,
		Repo:            repo.FullName,
		InstallationID:  repo.InstallationID,
		Requester:       requesterName(u),
		Instruction:     v.Prompt,
		Agent:           v.Agent,
		Model:           v.Model,
		UserID:          u.ID,
		SandboxSecurity: &sandbox,
		KeepAlive:       v.KeepAlive,
	})
	if err != nil {
		a.serverError(w, r, "submit task", err)
		return
	}
	if created {
		a.Logger.Info("task submitted from the web", "task_id", t.ID, "user_id", u.ID, "repo", t.Repo)
		a.audit(r, u, sesame.AuditTaskCreated, sesame.ResourceTask, t.ID, map[string]any{"source": string(sesame.SourceWeb), "repo": t.Repo,
			"agent": v.Agent, "model": v.Model, "sandboxSecurity": sandbox, "keepAlive": v.KeepAlive})
	}
	http.Redirect(w, r, "/tasks/"+t.ID, http.StatusSeeOther)
}

// requesterName is how a web user is named on the pull request: their GitHub login when connected.
func requesterName(u *sesame.User) string {
	if u.GitHubLogin != "" {
		return u.GitHubLogin
	}
	return u.Name
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type taskView struct {
	Task     *sesame.Task
	Security taskSecurity
	Events   []eventView
	LastID   int64
	Live     bool // still running: the page follows its events
	CanStop  bool
	Previews []int // ports with a server in the sandbox now (live tasks only)
}

func (a *App) taskPage(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	t, ok := a.visibleTask(w, r, u)
	if !ok {
		return
	}
	stored, err := a.Tasks.Events(r.Context(), t.ID)
	if err != nil {
		a.serverError(w, r, "task events", err)
		return
	}
	v := taskView{Task: t, Security: securityOf(t, stored), Live: !t.Status.Final(), CanStop: !t.Status.Final() && t.StopRequestedBy == ""}
	for _, e := range stored {
		v.Events = append(v.Events, viewEvent(e))
		v.LastID = e.ID
		if e.Type == sesame.EventPreview && v.Live {
			v.Previews = previewPorts(e)
		}
	}
	a.render(w, r, http.StatusOK, "task", firstLine(t.Instruction), v)
}

// visibleTask loads the task named in the path if u may see it; otherwise it answers 404 (a task of
// someone else is not admitted to exist).
func (a *App) visibleTask(w http.ResponseWriter, r *http.Request, u *sesame.User) (*sesame.Task, bool) {
	t, err := a.Tasks.Task(r.Context(), r.PathValue("id"))
	if sesame.ErrorCode(err) == sesame.ENOTFOUND || (err == nil && !canSee(u, t)) {
		a.errorPage(w, r, http.StatusNotFound, "There is no task at this address, or it is not yours to see.")
		return nil, false
	} else if err != nil {
		a.serverError(w, r, "load task", err)
		return nil, false
	}
	return t, true
}

func (a *App) stopTask(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	t, ok := a.visibleTask(w, r, u)
	if !ok {
		return
	}
	_, err := a.Stopper.RequestStop(r.Context(), t.ID, u.Name)
	switch sesame.ErrorCode(err) {
	case "":
		a.Logger.Info("stop requested", "task_id", t.ID, "user_id", u.ID)
		a.flash(r, "Stopping the task…")
	case sesame.ECONFLICT:
		a.flash(r, "This task has already ended.")
	default:
		a.serverError(w, r, "request stop", err)
		return
	}
	http.Redirect(w, r, "/tasks/"+t.ID, http.StatusSeeOther)
}
