// Package githubtest is a GitHub-shaped HTTP server for tests.
//
// It is a fake that records state, not a mock that scripts expectations: a
// test points the real go-github client at Server.URL, drives the code under
// test, and then asks the server what happened (Comments, Reactions,
// Requests, TokensIssued). Every answer uses the JSON shapes, status codes
// and error messages of GitHub's REST API, so the client's decoding and error
// handling run exactly as they would against api.github.com.
//
// The server plays a GitHub App named AppSlug ("sesame-test"): it verifies
// app JWTs (RS256, signed with PrivateKeyPEM), issues installation tokens
// ("ghs_..."), and accepts those tokens only for the repositories of their
// installation. GET /app/installations (with the JWT) and
// GET /installation/repositories (with a token) list what AddInstallation
// set up, paged with per_page, page and a Link header as GitHub pages.
// AddUserToken registers a user's personal access token, which GET /user
// answers for. Paths are served both at the root (client.BaseURL = URL+"/")
// and under "/api/v3/" (go-github's WithEnterpriseURLs(URL, URL)).
//
// CreateRepo makes a repository a real bare git repository that git clones,
// fetches and pushes over smart HTTP at GitURL (URL/owner/name.git, through
// git http-backend), authenticated as GitHub does for apps: HTTP Basic with
// an installation token as the password. Pushes, RefExists and the bare
// repository's path show what was pushed; POST .../pulls validates head and
// base against it, and PullRequests lists what was opened.
//
// Typical use:
//
//	gh := githubtest.NewServer(t)
//	gh.AddInstallation(7, "octo/hello")
//	gh.SetPermission("octo/hello", "alice", "write")
//	c := gh.AddComment(githubtest.Comment{Repo: "octo/hello", IssueNumber: 1, User: "alice", Body: "/sesame fix this"})
//	// ... run the bot against gh.URL, signing JWTs with gh.PrivateKeyPEM ...
//	gh.WaitFor(t, func() bool { return len(gh.Reactions("octo/hello", c.ID)) > 0 }, 5*time.Second)
package githubtest
