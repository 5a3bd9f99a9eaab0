package admin_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/postgres"
)

// timedAudit is the audit log with the time its writes take counted.
type timedAudit struct {
	sesame.AuditStore
	writes atomic.Int64
	spent  atomic.Int64 // nanoseconds
}

func (t *timedAudit) Record(ctx context.Context, e sesame.AuditEvent) {
	start := time.Now()
	t.AuditStore.Record(ctx, e)
	t.spent.Add(int64(time.Since(start)))
	t.writes.Add(1)
}

// BenchmarkSignIn signs in through POST /login (argon2id check, session, last sign-in, and with the
// audit log its two events: session created and signed in), without and with the audit log, and
// reports the time the audit writes add to each sign-in:
//
//	scripts/test -run '^$' -bench BenchmarkSignIn -benchtime 50x ./admin
func BenchmarkSignIn(b *testing.B) {
	for _, audited := range []bool{false, true} {
		name := "without-audit"
		if audited {
			name = "with-audit"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			if _, err := e.users.CreateUser(context.Background(), sesame.User{Name: "Ada", Email: "ada@example.com", Role: sesame.RoleAdmin, PasswordHash: hashFor(b)}); err != nil {
				b.Fatal(err)
			}
			var timed *timedAudit
			srv := e.serve(b, func(o *admin.Options) {
				if audited {
					timed = &timedAudit{AuditStore: postgres.NewAuditStore(e.db, postgres.AuditOptions{})}
					o.Audit = timed
				}
			})
			form := url.Values{"email": {"ada@example.com"}, "password": {password}}.Encode()
			b.ResetTimer()
			for b.Loop() {
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := hc.Post(srv.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther {
					b.Fatalf("sign-in answered %d", res.StatusCode)
				}
			}
			if timed != nil {
				b.ReportMetric(float64(timed.spent.Load())/float64(b.N)/1e6, "audit-ms/signin")
				b.ReportMetric(float64(timed.writes.Load())/float64(b.N), "audit-writes/signin")
			}
		})
	}
}
