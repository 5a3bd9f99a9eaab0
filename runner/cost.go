package runner

import (
	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
)

// spend is what a run of an agent has cost so far.
type spend struct {
	// Usage is the tokens the agent reported, and CostUSD what they cost: the cost the agent
	// reported, or its tokens at the price table's prices.
	Usage agent.Usage
	// Estimated says some of CostUSD is tokens at the price table's prices, not the agent's word.
	Estimated bool
	// Unknown names the model of tokens that had neither a cost nor a price: CostUSD leaves them
	// out. "" when every token is counted.
	Unknown string
}

func (s spend) plus(o spend) spend {
	s.Usage.InputTokens += o.Usage.InputTokens
	s.Usage.OutputTokens += o.Usage.OutputTokens
	s.Usage.CacheReadTokens += o.Usage.CacheReadTokens
	s.Usage.CacheWriteTokens += o.Usage.CacheWriteTokens
	s.Usage.CostUSD += o.Usage.CostUSD
	s.Estimated = s.Estimated || o.Estimated
	if s.Unknown == "" {
		s.Unknown = o.Unknown
	}
	return s
}

// costMeter sums what one run of an agent costs as its events come. A usage event (one model call)
// adds to the sum; a result event carries the agent's own total of the run so far, which replaces
// the sum. Each usage counts at the cost the agent reported with it, or else its tokens at the
// price of its model in the price table. It is not safe for concurrent use.
type costMeter struct {
	prices sesame.PriceTable
	model  string // the model of usage that names none: the one asked for, or the one the agent said it runs
	total  spend  // the latest result's, or nothing
	steps  spend  // the usage events after it
}

func newCostMeter(prices sesame.PriceTable, model string) *costMeter {
	return &costMeter{prices: prices, model: model}
}

// add counts e and reports whether what was spent may have changed.
func (m *costMeter) add(e agent.Event) bool {
	switch {
	case e.Type == agent.EventSystem && e.Model != "":
		m.model = e.Model
	case e.Type == agent.EventUsage && e.Usage != nil:
		model := e.Model
		if model == "" {
			model = m.model
		}
		m.steps = m.steps.plus(m.cost(*e.Usage, model))
		return true
	case e.Type == agent.EventResult && e.Usage != nil && *e.Usage != (agent.Usage{}):
		m.total, m.steps = m.cost(*e.Usage, m.model), spend{}
		return true
	}
	return false
}

// spent is what the run cost so far.
func (m *costMeter) spent() spend { return m.total.plus(m.steps) }

// cost is the spend of u, tokens of model.
func (m *costMeter) cost(u agent.Usage, model string) spend {
	s := spend{Usage: u}
	tokens := u.InputTokens + u.OutputTokens + u.CacheReadTokens + u.CacheWriteTokens
	if u.CostUSD > 0 || tokens == 0 {
		return s
	}
	p, ok := m.prices.Price(model)
	if !ok {
		s.Unknown = model
		if model == "" {
			s.Unknown = "the agent's default model"
		}
		return s
	}
	s.Usage.CostUSD = p.Cost(u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens)
	s.Estimated = true
	return s
}
