package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// NewServer returns an asynq worker server on rdb that runs up to concurrency jobs of RunQueue at
// once, looks for new jobs every poll when idle (asynq polls rather than blocks), and logs through
// logger.
func NewServer(rdb redis.UniversalClient, concurrency int, poll time.Duration, logger *slog.Logger) *asynq.Server {
	return newServer(rdb, RunQueue, concurrency, poll, logger)
}

// NewCommandServer returns the asynq worker server of CommandQueue, with CommandSlots slots: beside
// NewServer's, so that commands never wait for an agent to end.
func NewCommandServer(rdb redis.UniversalClient, poll time.Duration, logger *slog.Logger) *asynq.Server {
	return newServer(rdb, CommandQueue, CommandSlots, poll, logger)
}

func newServer(rdb redis.UniversalClient, queue string, concurrency int, poll time.Duration, logger *slog.Logger) *asynq.Server {
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues:            map[string]int{queue: 1},
		Concurrency:       concurrency,
		TaskCheckInterval: poll,
		Logger:            slogAdapter{logger},
		LogLevel:          asynq.InfoLevel,
		ShutdownTimeout:   30 * time.Second,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			logger.Error("job failed", "type", t.Type(), "job_id", id, "retry", retried, "max_retry", maxRetry, "err", err)
		}),
	})
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
