// Package sesame holds Sesame's domain: tasks, the requests that create them, their events, and the
// error codes every layer shares. It imports only the standard library; adapters (postgres, queue,
// bot, runner, admin) live in their own packages and are wired together in cmd/sesame.
package sesame
