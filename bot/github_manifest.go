package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"

	sesame "github.com/sesame-works/sesame"
)

// ConvertManifest trades the code GitHub gave when an app was created from Sesame's manifest
// (POST /app-manifests/{code}/conversions, no authentication) for the new app's id, names and
// secrets, at the REST API apiURL. GitHub answers this once per code, within an hour.
func ConvertManifest(ctx context.Context, hc *http.Client, apiURL, code string) (sesame.GitHubAppCredentials, error) {
	if code == "" || len(code) > 200 || strings.ContainsAny(code, "/?#% \t\r\n") {
		return sesame.GitHubAppCredentials{}, sesame.Errorf(sesame.EINVALID, "GitHub's answer had no usable code; create the app again.")
	}
	base, err := apiBase(apiURL)
	if err != nil {
		return sesame.GitHubAppCredentials{}, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := github.NewClient(hc)
	c.BaseURL, c.UploadURL = base, base
	cfg, _, err := c.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		if s := statusOf(err); s == http.StatusNotFound || s == http.StatusUnprocessableEntity {
			return sesame.GitHubAppCredentials{}, fmt.Errorf("convert manifest: %w", errors.Join(err,
				sesame.Errorf(sesame.EINVALID, "GitHub did not accept the code: it is good once and for an hour. Create the app again.")))
		}
		return sesame.GitHubAppCredentials{}, classify("convert manifest", err)
	}
	if cfg.GetID() <= 0 || cfg.GetPEM() == "" || cfg.GetWebhookSecret() == "" {
		return sesame.GitHubAppCredentials{}, sesame.Errorf(sesame.EUNAVAILABLE,
			"GitHub's answer lacked the app's id, private key or webhook secret; create the app again.")
	}
	return sesame.GitHubAppCredentials{
		ID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), Owner: cfg.GetOwner().GetLogin(),
		HTMLURL: cfg.GetHTMLURL(), ClientID: cfg.GetClientID(), ClientSecret: cfg.GetClientSecret(),
		WebhookSecret: cfg.GetWebhookSecret(), PEM: cfg.GetPEM(),
	}, nil
}

// apiBase parses a REST API root, ending it in a slash.
func apiBase(apiURL string) (*url.URL, error) {
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, sesame.Errorf(sesame.EINVALID, "The GitHub API address %q is not an absolute http(s) URL.", apiURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	return base, nil
}

// About describes the current app as GitHub knows it: names, installations and where its webhooks go.
func (l *LiveApp) About(ctx context.Context) (sesame.GitHubAppInfo, error) {
	a := l.App()
	if a == nil {
		return sesame.GitHubAppInfo{}, errNoApp
	}
	app, _, err := a.app.Apps.Get(ctx, "")
	if err != nil {
		return sesame.GitHubAppInfo{}, classify("get the app", err)
	}
	info := sesame.GitHubAppInfo{ID: app.GetID(), Slug: app.GetSlug(), Name: app.GetName(),
		Owner: app.GetOwner().GetLogin(), HTMLURL: app.GetHTMLURL()}
	opt := &github.ListOptions{PerPage: listPageSize}
	for {
		page, resp, err := a.app.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return info, classify("list the app's installations", err)
		}
		for _, in := range page {
			info.Installations = append(info.Installations, sesame.GitHubInstallation{
				ID: in.GetID(), Account: in.GetAccount().GetLogin(), AllRepos: in.GetRepositorySelection() == "all",
				Suspended: in.SuspendedAt != nil, HTMLURL: in.GetHTMLURL()})
		}
		if resp.NextPage == 0 || len(info.Installations) >= 1000 {
			break
		}
		opt.Page = resp.NextPage
	}
	if hook, _, err := a.app.Apps.GetHookConfig(ctx); err == nil {
		info.HookURL = hook.GetURL()
	}
	return info, nil
}

// AppAdmin is what the admin's GitHub App page needs: create the app from the manifest, describe it,
// check its webhook.
type AppAdmin struct {
	Live *LiveApp
	HTTP *http.Client // nil: 30 seconds' timeout
}

// Convert trades a manifest's code for the new app's credentials (ConvertManifest).
func (a *AppAdmin) Convert(ctx context.Context, apiURL, code string) (sesame.GitHubAppCredentials, error) {
	return ConvertManifest(ctx, a.HTTP, apiURL, code)
}

// About describes the current app (LiveApp.About).
func (a *AppAdmin) About(ctx context.Context) (sesame.GitHubAppInfo, error) { return a.Live.About(ctx) }

// Ping checks the webhook address with a signed ping (PingWebhook).
func (a *AppAdmin) Ping(ctx context.Context, webhookURL string, secret []byte) error {
	return PingWebhook(ctx, nil, webhookURL, secret)
}
