package sesame

import "context"

type noticeKey struct{}

// WithNotice returns a copy of ctx that carries fn: a call made with it that has to wait for
// something outside Sesame (GitHub's rate limit) tells fn why and for how long, in a sentence for the
// task's requester, so that the task it serves can record it rather than look stuck.
func WithNotice(ctx context.Context, fn func(msg string)) context.Context {
	return context.WithValue(ctx, noticeKey{}, fn)
}

// Notice tells msg to the function ctx carries (WithNotice), if any.
func Notice(ctx context.Context, msg string) {
	if fn, ok := ctx.Value(noticeKey{}).(func(string)); ok && fn != nil {
		fn(msg)
	}
}
