package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/cluster"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/events"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/queue"
	"github.com/sesame-works/sesame/runner"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/docker"
	"github.com/sesame-works/sesame/sealed"
)

// Roles of a serve process.
const (
	RoleAll    = "all"    // web and worker in one process
	RoleWeb    = "web"    // HTTP: webhooks, pages, health
	RoleWorker = "worker" // runs queued tasks and the reconciler
)

// Main is one running Sesame process, wired by hand. Open builds it, Run serves until the context
// ends, Close releases what Open acquired. Tests start the same Main.
type Main struct {
	Role       string
	ConfigPath string
	Getenv     func(string) (string, bool) // nil: the process environment
	Stderr     io.Writer

	Config *config.Config
	Logger *slog.Logger
	DB     *postgres.DB
	Redis  redis.UniversalClient
	Queue  *asynq.Client

	Tasks     *postgres.TaskStore
	Submitter *queue.Submitter
	// Live is the settings as they are now: Config under the values admins saved, reloaded when
	// any node saves (syncSettings).
	Live   *config.Live
	Sealer *sealed.Box // ENCRYPTION_KEY: users' tokens and secret settings at rest
	Audit  *postgres.AuditStore
	// auditBatch writes the audit events of created tasks in the background (Run runs it).
	auditBatch *postgres.AuditBatch
	// lines makes the run tasks of an issue or pull request wait their turn, and wakes them.
	lines *queue.Lines

	maskers []*mask.Masker // fed every secret of the settings at each reload
	// app is the GitHub App as the settings say now: replaced at a reload when an admin created it
	// from the manifest (configureApp). appSaid is the last problem logged about it.
	app      *bot.LiveApp
	appSaid  string
	settings *redis.PubSub // messages that settings were saved (syncSettings)

	mirrors  *gitops.Cache
	runner   *runner.Runner
	sessions *pgxstore.PostgresStore
	hub      *events.Hub
	listener net.Listener
	http     *http.Server
	worker   *asynq.Server // agent runs: WORKER_CONCURRENCY slots
	commands *asynq.Server // commands (stop, status, …): slots of their own, never behind an agent
	handler  *asynq.ServeMux
	node     *cluster.Self // this process in the node registry (the admin's status page)
	web      *admin.App    // the web app, for its periodic session sweep
	docker   *docker.Provider
	metrics  *metrics // /metrics: this process's registry, and METRICS_LISTEN_ADDR (metrics.go)
}

// Open loads the settings, connects to Postgres and Redis, migrates the database and builds the parts
// the role needs. It fails with a message that says what to fix.
func (m *Main) Open(ctx context.Context) error {
	switch m.Role {
	case RoleAll, RoleWeb, RoleWorker:
	default:
		return fmt.Errorf("unknown role %q: use all, web or worker", m.Role)
	}
	cfg, err := config.Load(config.Options{Path: m.ConfigPath, Getenv: m.Getenv})
	if err != nil {
		return err
	}
	if err := cfg.CheckRequired(); err != nil {
		return err
	}
	m.Config = cfg
	m.Logger = newLogger(m.Stderr, cfg)
	if m.metrics, err = newMetrics(ctx, cfg, m.Logger); err != nil {
		return err
	}

	if m.DB, err = postgres.Open(ctx, cfg.String(config.DatabaseURL)); err != nil {
		return err
	}
	if err := m.DB.Migrate(ctx, m.Logger); err != nil {
		return fmt.Errorf("%w\n(is PostgreSQL running, and does DATABASE_URL name an existing database?)", err)
	}
	m.Tasks = postgres.NewTaskStore(m.DB)
	if m.Sealer, err = sealed.New(cfg.String(config.EncryptionKey)); err != nil {
		return fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	m.Live = config.NewLive(cfg, config.OpenSaved{Saved: postgres.NewSettingStore(m.DB), Sealer: m.Sealer})
	m.app = &bot.LiveApp{HTTP: m.metrics.apiClient("github")} // every GitHub call counted
	m.Live.BeforeSwap = func(c *config.Config) {
		m.maskSecrets(c)
		m.configureApp(c)
	}
	if err := m.Live.Reload(ctx); err != nil {
		m.Logger.Error("saved settings; starting without the ones that could not be read", "err", err)
	}
	// audit.enabled and audit.retentionDays are read at each write: admins change them while Sesame runs.
	m.Audit = postgres.NewAuditStore(m.DB, postgres.AuditOptions{
		Enabled:       func() bool { return m.Live.Current().Bool(config.AuditEnabled) },
		RetentionDays: func() int { return m.Live.Current().Int(config.AuditRetentionDays) },
		Logger:        m.Logger.With("component", "audit"),
	})

	opt, err := redis.ParseURL(cfg.String(config.RedisURL))
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	m.Redis = redis.NewClient(opt)
	m.subscribeSettings(ctx)
	m.Queue = asynq.NewClientFromRedisClient(m.Redis)
	// A task created by a webhook or a slash command is audited in the background, many events per
	// statement: a second write on the request's path more than doubled its tail latency.
	m.auditBatch = m.Audit.Batch()
	m.Submitter = &queue.Submitter{Store: m.Tasks, Client: m.Queue, Logger: m.Logger, Audit: m.auditBatch}
	m.lines = &queue.Lines{Store: m.Tasks, Client: m.Queue, Inspector: asynq.NewInspectorFromRedisClient(m.Redis), Logger: m.Logger}
	m.metrics.reg.MustRegister(queueCollector{inspector: asynq.NewInspectorFromRedisClient(m.Redis)}) // read at each scrape

	m.configureApp(m.Live.Current()) // Reload did when it read what admins saved; not when that failed
	app := m.app
	if m.Role != RoleWorker {
		if err := m.openWeb(ctx, app); err != nil {
			return err
		}
	}
	if m.Role != RoleWeb {
		r, err := m.newRunner(app)
		if err != nil {
			return err
		}
		m.runner = r
		m.handler = asynq.NewServeMux()
		m.handler.Handle(queue.TypeTaskRun, queue.HandleTaskRun(r.Run, r.GiveUp))
		m.worker = queue.NewServer(m.Redis, cfg.Int(config.WorkerConcurrency), cfg.Duration(config.WorkerPollInterval), m.Logger)
		m.commands = queue.NewCommandServer(m.Redis, cfg.Duration(config.WorkerPollInterval), m.Logger)
	}
	return nil
}

// Addr returns the address the web server listens on, or "" for a worker.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Run serves until ctx ends or a part fails, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	// Settings saved by an admin on any node apply here within seconds.
	g.Go(func() error { return m.syncSettings(ctx) })
	g.Go(func() error { return m.auditBatch.Run(ctx) }) // writes what is queued before it returns
	g.Go(func() error { return m.metrics.serve(ctx) })  // METRICS_LISTEN_ADDR, when set
	if m.http != nil {
		m.Logger.Info("web server listening", "addr", m.Addr(), "role", m.Role)
		g.Go(func() error {
			if err := m.http.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("web server: %w", err)
			}
			return nil
		})
		g.Go(func() error { return m.sweepSessions(ctx) })
		g.Go(func() error {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return m.http.Shutdown(shutdown)
		})
	}
	if m.worker != nil {
		// What a worker that died on this host left behind goes before any new work comes.
		if m.docker != nil {
			if n, err := m.docker.Sweep(ctx, dockerInstance(m.Config)); err != nil {
				m.Logger.Warn("remove sandbox containers left behind", "err", err)
			} else if n > 0 {
				m.Logger.Info("removed sandbox containers left behind", "count", n)
			}
		}
		if n, err := m.runner.Sweep(ctx); err != nil {
			m.Logger.Warn("clean up task folders left behind", "err", err)
		} else if n > 0 {
			m.Logger.Info("cleaned up task folders left behind", "count", n)
		}
		m.Logger.Info("worker started", "role", m.Role, "worker_id", m.runner.WorkerID, "concurrency", m.Config.Int(config.WorkerConcurrency))
		if err := m.worker.Start(m.handler); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		if err := m.commands.Start(m.handler); err != nil {
			m.worker.Shutdown()
			return fmt.Errorf("start worker's commands: %w", err)
		}
		g.Go(func() error {
			<-ctx.Done()
			m.commands.Shutdown()
			m.worker.Shutdown()
			// Let a spare checkout being written finish, so no half tree is left behind.
			wait, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := m.mirrors.Wait(wait); err != nil {
				m.Logger.Warn("spare checkouts still running at shutdown", "err", err)
			}
			return nil
		})
		// And while it runs: a worker that dies beside it on this host leaves folders and agents too.
		g.Go(func() error { return m.sweepTaskFolders(ctx) })
		// Stop requests reach the worker running the task over Redis, with a poll of the store behind it.
		g.Go(func() error { return m.runner.WatchStops(ctx, m.Redis, 2*time.Second) })
		// The leases of the tasks running here: a worker that dies stops renewing them, and the
		// reconciler of any worker resumes its tasks.
		g.Go(func() error { return m.runner.Heartbeat(ctx) })
		rec := &queue.Reconciler{Submitter: m.Submitter, Interval: m.Config.Duration(config.QueueReconcileInterval), Lines: m.lines, Logger: m.Logger}
		g.Go(func() error { return rec.Run(ctx) })
		// Old audit events go daily, besides the ~1 % of writes that prune: a quiet instance forgets too.
		g.Go(func() error { return m.Audit.PruneEvery(ctx, auditPruneEvery) })
	}
	// Every node lists itself for the admin's status page while it runs, and leaves the list at shutdown.
	m.node = m.newNode()
	g.Go(func() error { return m.node.Run(ctx) })
	return g.Wait()
}

// Close releases connections. It is safe after a failed Open.
func (m *Main) Close() error {
	m.metrics.close()
	if m.listener != nil && m.http == nil {
		m.listener.Close()
	}
	if m.sessions != nil {
		m.sessions.StopCleanup()
	}
	if m.hub != nil {
		m.hub.Close()
	}
	if m.docker != nil {
		m.docker.Close()
	}
	if m.settings != nil {
		m.settings.Close() // already closed when Run ran: harmless
	}
	if m.Queue != nil {
		m.Queue.Close()
	}
	if m.Redis != nil {
		m.Redis.Close()
	}
	if m.DB != nil {
		m.DB.Close()
	}
	return nil
}

var (
	_ runner.CodeHost    = (*bot.GitHub)(nil)
	_ runner.Origin      = (*bot.GitHubOrigin)(nil)
	_ runner.Moderator   = (*bot.GitHubOrigin)(nil)
	_ runner.Origin      = admin.WebOrigin{}
	_ runner.ThreadStore = (*postgres.TaskStore)(nil)
)

// newRunner wires the runner: its stores, sandbox, mirrors, agents and the masker fed with every
// secret this server knows.
func (m *Main) newRunner(app *bot.LiveApp) (*runner.Runner, error) {
	cfg := m.Config
	masker := mask.New(m.Live.Current().Secrets()...)
	m.maskers = append(m.maskers, masker)
	if key, err := cfg.GitHubPrivateKey(); err == nil {
		masker.Add(string(key))
	}
	base := cfg.String(config.TasksBaseDirectory)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("task folder %s (TASK_DIR_BASE): %w", base, err)
	}
	// Workspaces live on the same file system as the mirrors, so spare checkouts can be moved into place.
	spares := cfg.Int(config.TasksWorkspaceSpares)
	m.mirrors = &gitops.Cache{Dir: filepath.Join(base, "mirrors"), Spare: spares > 0, Spares: spares}
	// The agent CLIs on this host, looked up once (AGENTS_DIR, else the server's PATH).
	found := findAgents(cfg.String(config.AgentsInstallDir), exec.LookPath)
	var provider sandbox.Provider
	switch p := cfg.String(config.SandboxProvider); p {
	case "local":
		lp := localSandbox(cfg, m.Logger, found)
		if err := lp.Warm(base); err != nil {
			m.Logger.Warn("local sandbox: could not prepare ahead of the first task", "err", err)
		}
		if uid, gid, other := lp.Owner(); other {
			m.mirrors.Owner = &gitops.Owner{UID: uid, GID: gid}
		}
		provider = lp
	case "docker":
		dp, err := dockerSandbox(cfg, m.Logger)
		if err != nil {
			return nil, err
		}
		check, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = dp.Check(check)
		cancel()
		if err != nil {
			dp.Close()
			return nil, fmt.Errorf("%w\n(SANDBOX_PROVIDER=docker: is the engine at DOCKER_HOST running, and is DOCKER_SANDBOX_IMAGE on it?)", err)
		}
		if os.Geteuid() == 0 {
			uid, gid := dp.Owner()
			m.mirrors.Owner = &gitops.Owner{UID: uid, GID: gid}
		}
		m.docker, provider = dp, dp
	default:
		m.Logger.Warn("sandbox provider not available yet; tasks will fail until it is", "provider", p)
	}
	r := &runner.Runner{
		Store:   m.Tasks,
		Events:  &events.Recorder{Store: m.Tasks, Redis: m.Redis, Masker: masker, Logger: m.Logger, Audit: m.Audit},
		Sandbox: provider,
		Mirrors: m.mirrors,
		Agents: agentCatalog{cfg: m.Live.Current, inImage: m.docker != nil, found: found,
			User: postgres.NewUserCredentials(m.DB, m.Sealer).AgentCredentials},
		Masker: masker,
		Settings: runner.Settings{
			BaseDirectory:   base,
			MaxDuration:     cfg.Duration(config.TasksMaxDuration),
			CoAuthoredBy:    cfg.Bool(config.GitIncludeCoAuthoredBy),
			InstallRuntimes: cfg.Bool(config.TasksInstallRuntimes),
			SandboxSecurity: cfg.Bool(config.SandboxSecurityEnabled),
			Costs:           costSettings(cfg, m.Logger),
		},
		Live: func() runner.Settings {
			now := m.Live.Current()
			return runner.Settings{
				MaxDuration:     now.Duration(config.TasksMaxDuration),
				CoAuthoredBy:    now.Bool(config.GitIncludeCoAuthoredBy),
				InstallRuntimes: now.Bool(config.TasksInstallRuntimes),
				SandboxSecurity: now.Bool(config.SandboxSecurityEnabled),
				Costs:           costSettings(now, m.Logger),
			}
		},
		Runtimes: runner.RuntimeOptions{Mise: hostMise(cfg, m.docker == nil)},
		Policy:   m.sandboxPolicy,
		Users:    postgres.NewUserStore(m.DB),
		Budgets:  postgres.NewUserStore(m.DB),
		Namer:    m.utilityNamer(), // utility.go: AI_* read at each question
		BaseURL:  cfg.String(config.ServerBaseURL),
		Logger:   m.Logger,
		WorkerID: runner.NewWorkerID(),
		Lines:    m.lines,
		// /sesame retry submits its task as the webhook does: stored, then enqueued.
		Submitter: m.Submitter,
		Metrics:   m.metrics.forRunner(cfg.String(config.SandboxProvider)),
	}
	r.Origins = map[sesame.Source]runner.Origin{sesame.SourceWeb: admin.WebOrigin{}}
	// The app may be created later, from /admin/github: until then GitHub's parts say that there is none.
	gh := &bot.GitHub{App: app}
	r.Host = gh
	r.Origins[sesame.SourceGitHub] = &bot.GitHubOrigin{GitHub: gh, Tasks: m.Tasks, Events: r.Events, Masker: masker,
		TaskURL: func(id string) string { return r.BaseURL + "/tasks/" + id }, Logger: m.Logger}
	m.addSlackOrigin(r, masker)
	return r, nil
}
