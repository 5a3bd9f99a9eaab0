// Package admin is Sesame's web app: first-admin setup, sign-in, the task form, task list and live
// task page, user settings, and the admin section (settings, users, sandbox policy, audit log,
// health). Empty until the web app lands.
package admin
