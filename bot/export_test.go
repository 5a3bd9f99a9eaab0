package bot

import "time"

// SetClock makes a's repository cache read the time from now.
func SetClock(a *App, now func() time.Time) { a.repos.now = now }
