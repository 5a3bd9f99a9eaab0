package sesame

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// What tasks may spend. A task has a wall-time and a cost budget (the settings tasks.maxDuration and
// tasks.costBudget, or its request's --budget up to tasks.maxCostBudget), and the tasks counted
// against a Sesame user share that user's monthly cost budget. An agent that reports what it cost is
// taken at its word; one that reports only tokens is counted at the prices of a PriceTable.

// maxUSD is the largest amount ParseUSD reads: a million dollars.
const maxUSD = 1_000_000

// ParseUSD reads an amount of US dollars as people write it: digits with at most two decimals and
// an optional leading "$" ("2.50", "$5", "0.05"). The amount is at least 0 and at most 1,000,000.
func ParseUSD(s string) (float64, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, cents, dot := strings.Cut(v, ".")
	if whole == "" || !digits(whole) || dot && (cents == "" || len(cents) > 2 || !digits(cents)) {
		return 0, fmt.Errorf("%s is not an amount of US dollars such as 2.50 (at most two decimals)", quoteModel(s))
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f > maxUSD {
		return 0, fmt.Errorf("%s is more than the %s Sesame reads as an amount", quoteModel(s), FormatUSD(maxUSD))
	}
	return f, nil
}

func digits(s string) bool {
	for i := range len(s) {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// FormatUSD writes an amount of US dollars for people: two decimals ("$2.50"), or four for an amount
// under a cent that is not zero ("$0.0042"), so that a small cost does not read as nothing.
func FormatUSD(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

// ModelPrice is what a model costs, in US dollars per million tokens.
type ModelPrice struct {
	Model      string
	Input      float64 // input tokens read fresh
	Output     float64 // output tokens, reasoning included
	CacheRead  float64 // input tokens read from the prompt cache
	CacheWrite float64 // input tokens written to the prompt cache
}

// Cost is what the tokens cost at p, in US dollars.
func (p ModelPrice) Cost(input, output, cacheRead, cacheWrite int) float64 {
	return (float64(input)*p.Input + float64(output)*p.Output +
		float64(cacheRead)*p.CacheRead + float64(cacheWrite)*p.CacheWrite) / 1e6
}

// PriceTable holds the prices of the models whose cost Sesame counts from their tokens.
type PriceTable []ModelPrice

// ParsePrices reads a price table from its entries, each "MODEL INPUT OUTPUT [CACHE_READ
// [CACHE_WRITE]]": a model name (see CheckModel) and its prices in US dollars per million tokens,
// separated by white space. A cache price left out is the input price. A model named twice (in any
// case) is an error, and so is a price that is not a number from 0 to 10,000.
func ParsePrices(entries []string) (PriceTable, error) {
	var table PriceTable
	seen := map[string]bool{}
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) < 3 || len(f) > 5 {
			return nil, fmt.Errorf("%s is not a price: write MODEL INPUT OUTPUT [CACHE_READ [CACHE_WRITE]], in US dollars per million tokens", quoteModel(e))
		}
		if f[0] == "" || CheckModel(f[0]) != nil {
			return nil, fmt.Errorf("%s does not start with a model name", quoteModel(e))
		}
		if seen[strings.ToLower(f[0])] {
			return nil, fmt.Errorf("the model %s is priced twice", quoteModel(f[0]))
		}
		seen[strings.ToLower(f[0])] = true
		var prices [4]float64
		for i, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 10_000 || math.IsNaN(v) {
				return nil, fmt.Errorf("%s: %s is not a price in US dollars per million tokens", quoteModel(f[0]), quoteModel(s))
			}
			prices[i] = v
		}
		p := ModelPrice{Model: f[0], Input: prices[0], Output: prices[1], CacheRead: prices[0], CacheWrite: prices[0]}
		if len(f) > 3 {
			p.CacheRead = prices[2]
		}
		if len(f) > 4 {
			p.CacheWrite = prices[3]
		}
		table = append(table, p)
	}
	return table, nil
}

// Price returns the price of model, matched without regard to ASCII case and without a provider
// prefix ("openai/gpt-5.5" is gpt-5.5): the entry named model, else the longest entry whose name
// model starts with when what follows is a variant that costs the same: a date or version of digits
// (claude-opus-4-8-20260528, gpt-5.5-2026-04-23) or a bracketed option (Claude Code's
// claude-opus-4-8[1m]). Any other suffix (gpt-5.5-pro, gpt-5.5-mini) is another model, not priced by
// its family's entry.
func (p PriceTable) Price(model string) (ModelPrice, bool) {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	var best ModelPrice
	found := false
	for _, e := range p {
		name := strings.ToLower(e.Model)
		rest, ok := strings.CutPrefix(m, name)
		if !ok || !sameModel(rest) {
			continue
		}
		if rest == "" {
			return e, true
		}
		if !found || len(e.Model) > len(best.Model) {
			best, found = e, true
		}
	}
	return best, found
}

// sameModel reports whether rest, what follows a priced name in a model's name, leaves the model
// the priced one: nothing, a bracketed option, or "-" and digits (a date or version), in any number.
func sameModel(rest string) bool {
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return false
			}
			rest = rest[end+1:]
		case rest[0] == '-' && len(rest) > 1 && isASCIIDigit(rest[1]):
			n := 1
			for n < len(rest) && isASCIIDigit(rest[n]) {
				n++
			}
			rest = rest[n:]
		default:
			return false
		}
	}
	return true
}

// MonthStart is the first instant of t's calendar month in UTC: monthly budgets renew then.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// UserBudget is a Sesame user's monthly cost budget and what the tasks counted against them cost
// in the month so far.
type UserBudget struct {
	UserID string // "" when a task counts against no user
	Name   string // their name, else their email
	// Own is the monthly budget an admin set for this user, in US dollars (0: no limit); nil when
	// none was set and the server's default (tasks.userMonthlyBudget) applies.
	Own *float64
	// Spent is what the tasks counted against them since the month began cost, as recorded when
	// each ended: tasks still running count once they end.
	Spent float64
}

// Limit is the user's monthly budget in US dollars, 0 for none: their own when an admin set one,
// else def, the server's default.
func (b UserBudget) Limit(def float64) float64 {
	if b.Own != nil {
		return *b.Own
	}
	return def
}

// BudgetStore keeps Sesame users' own monthly budgets and what the tasks counted against them cost.
type BudgetStore interface {
	// ChargeTask counts the task with id against a Sesame user: the user with userID when it is set,
	// else the user who connected a GitHub token as githubLogin (matched without regard to case, not
	// banned; the oldest when several did). It returns that user's budget and what the other tasks
	// counted against them since since cost, or a zero UserBudget when there is no such user.
	// Charging a task again (a retried job) is harmless.
	ChargeTask(ctx context.Context, id, userID, githubLogin string, since time.Time) (UserBudget, error)
	// UserBudget returns the budget of the user with userID and what the tasks counted against them
	// since since cost; ENOTFOUND for an unknown user.
	UserBudget(ctx context.Context, userID string, since time.Time) (UserBudget, error)
	// SetUserBudget sets the user's own monthly budget in US dollars (0: no limit); nil clears it,
	// so that the server's default applies. ENOTFOUND for an unknown user.
	SetUserBudget(ctx context.Context, userID string, budget *float64) error
}
