package main

import (
	"log/slog"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/runner"
)

// costSettings reads the settings of tasks' cost budgets from c. The config checked their formats
// when it loaded them; a value that still does not read (it cannot) is logged and taken as none.
func costSettings(c *config.Config, log *slog.Logger) runner.Costs {
	usd := func(key string) float64 {
		v, err := sesame.ParseUSD(c.String(key))
		if err != nil {
			log.Error("read a budget setting; taking it as no limit", "key", key, "err", err)
		}
		return v
	}
	prices, err := sesame.ParsePrices(c.List(config.TasksModelPrices))
	if err != nil {
		log.Error("read the model prices; counting costs only as the agents report them", "key", config.TasksModelPrices, "err", err)
	}
	return runner.Costs{
		TaskBudget:  usd(config.TasksCostBudget),
		MaxBudget:   usd(config.TasksMaxCostBudget),
		UserMonthly: usd(config.TasksUserMonthlyBudget),
		Prices:      prices,
	}
}
