package main

import (
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-works/sesame/events"
)

// queueScrapeTimeout bounds what a scrape waits for Redis: a queue that cannot be read in time is
// reported down (sesame_queue_up 0) rather than holding the scrape.
const queueScrapeTimeout = 2 * time.Second

var (
	queueUp = prometheus.NewDesc("sesame_queue_up",
		"1 when the task queue (Redis) could be read at this scrape, 0 when not.", nil, nil)
	queueTasks = prometheus.NewDesc("sesame_queue_tasks",
		"Jobs in the task queue at this scrape, by queue and state (pending, active, scheduled, retry, archived).",
		[]string{"queue", "state"}, nil)
	queueWait = prometheus.NewDesc("sesame_queue_oldest_pending_seconds",
		"How long the oldest pending job of the queue has waited, at this scrape.", []string{"queue"}, nil)
	viewers = prometheus.NewDesc("sesame_sse_viewers",
		"Browsers following a task's live events on this web process.", nil, nil)
)

// queueCollector reads the asynq queues at scrape time.
type queueCollector struct{ inspector *asynq.Inspector }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueUp
	ch <- queueTasks
	ch <- queueWait
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	type result struct {
		infos []*asynq.QueueInfo
		err   error
	}
	// The inspector takes no context: its reads run in a goroutine that Redis's own timeouts end,
	// and the scrape waits for them at most queueScrapeTimeout.
	done := make(chan result, 1)
	go func() {
		var r result
		names, err := c.inspector.Queues()
		if err != nil {
			done <- result{err: err}
			return
		}
		for _, q := range names {
			info, err := c.inspector.GetQueueInfo(q)
			if err != nil {
				done <- result{err: err}
				return
			}
			r.infos = append(r.infos, info)
		}
		done <- r
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(queueScrapeTimeout):
		ch <- prometheus.MustNewConstMetric(queueUp, prometheus.GaugeValue, 0)
		return
	}
	if r.err != nil {
		ch <- prometheus.MustNewConstMetric(queueUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueUp, prometheus.GaugeValue, 1)
	for _, q := range r.infos {
		for state, n := range map[string]int{"pending": q.Pending, "active": q.Active, "scheduled": q.Scheduled,
			"retry": q.Retry, "archived": q.Archived} {
			ch <- prometheus.MustNewConstMetric(queueTasks, prometheus.GaugeValue, float64(n), q.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(queueWait, prometheus.GaugeValue, q.Latency.Seconds(), q.Queue)
	}
}

// hubCollector reads how many viewers the web process's live-event hub feeds, at scrape time.
type hubCollector struct{ hub *events.Hub }

func (c hubCollector) Describe(ch chan<- *prometheus.Desc) { ch <- viewers }

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(viewers, prometheus.GaugeValue, float64(c.hub.Viewers()))
}
