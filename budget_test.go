package sesame

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseUSD(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want float64
		bad  bool
	}{
		{name: "cents", in: "2.50", want: 2.5},
		{name: "whole", in: "5", want: 5},
		{name: "small", in: "0.05", want: 0.05},
		{name: "one decimal", in: "1.5", want: 1.5},
		{name: "dollar sign", in: "$3.25", want: 3.25},
		{name: "spaces", in: " 4 ", want: 4},
		{name: "zero", in: "0", want: 0},
		{name: "a million", in: "1000000", want: 1_000_000},
		{name: "three decimals", in: "2.505", bad: true},
		{name: "negative", in: "-1", bad: true},
		{name: "exponent", in: "1e3", bad: true},
		{name: "no digits after the dot", in: "2.", bad: true},
		{name: "no digits before the dot", in: ".5", bad: true},
		{name: "comma", in: "2,50", bad: true},
		{name: "empty", in: "", bad: true},
		{name: "sign only", in: "$", bad: true},
		{name: "word", in: "lots", bad: true},
		{name: "too much", in: "1000000.01", bad: true},
		{name: "infinity", in: "Inf", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUSD(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseUSD(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseUSD(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatUSD(t *testing.T) {
	for in, want := range map[float64]string{0: "$0.00", 2.5: "$2.50", 0.0712: "$0.07", 0.0042: "$0.0042", 20: "$20.00"} {
		if got := FormatUSD(in); got != want {
			t.Errorf("FormatUSD(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePrices(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		want    PriceTable
		bad     string // part of the error
	}{
		{name: "all four prices", entries: []string{"claude-opus-4-8 5 25 0.5 6.25"},
			want: PriceTable{{Model: "claude-opus-4-8", Input: 5, Output: 25, CacheRead: 0.5, CacheWrite: 6.25}}},
		{name: "cache write left out is the input price", entries: []string{"gpt-5.5 5 30 0.5"},
			want: PriceTable{{Model: "gpt-5.5", Input: 5, Output: 30, CacheRead: 0.5, CacheWrite: 5}}},
		{name: "both cache prices left out", entries: []string{"m 1.25  10"},
			want: PriceTable{{Model: "m", Input: 1.25, Output: 10, CacheRead: 1.25, CacheWrite: 1.25}}},
		{name: "several", entries: []string{"a 1 2", "b 3 4 0 0"},
			want: PriceTable{{Model: "a", Input: 1, Output: 2, CacheRead: 1, CacheWrite: 1}, {Model: "b", Input: 3, Output: 4}}},
		{name: "none", entries: nil, want: nil},
		{name: "too few fields", entries: []string{"gpt-5.5 5"}, bad: "is not a price"},
		{name: "too many fields", entries: []string{"gpt-5.5 5 30 0.5 5 9"}, bad: "is not a price"},
		{name: "not a number", entries: []string{"gpt-5.5 five 30"}, bad: `"five" is not a price`},
		{name: "negative", entries: []string{"gpt-5.5 -5 30"}, bad: `"-5" is not a price`},
		{name: "absurd", entries: []string{"gpt-5.5 50000 30"}, bad: "is not a price"},
		{name: "not a number at all", entries: []string{"gpt-5.5 NaN 30"}, bad: "is not a price"},
		{name: "bad model name", entries: []string{"-rm 1 2"}, bad: "does not start with a model name"},
		{name: "twice", entries: []string{"gpt-5.5 5 30", "GPT-5.5 1 2"}, bad: "priced twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrices(tc.entries)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("ParsePrices = %v, %v; want an error with %q", got, err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriceTablePrice(t *testing.T) {
	table := PriceTable{
		{Model: "claude-opus-4-8", Input: 5},
		{Model: "gpt-5.5", Input: 5},
		{Model: "gpt-5", Input: 1.25},
		{Model: "gemini-2.5-pro", Input: 1.25},
	}
	for _, tc := range []struct {
		model string
		want  string // the entry; "" for none
	}{
		{"claude-opus-4-8", "claude-opus-4-8"},
		{"Claude-Opus-4-8", "claude-opus-4-8"},
		{"claude-opus-4-8[1m]", "claude-opus-4-8"},
		{"claude-opus-4-8-20260528", "claude-opus-4-8"},
		{"gpt-5.5", "gpt-5.5"},
		{"gpt-5.5-2026-04-23", "gpt-5.5"},
		{"openai/gpt-5.5", "gpt-5.5"},
		{"models/gemini-2.5-pro", "gemini-2.5-pro"},
		{"gpt-5", "gpt-5"},
		{"gpt-5.5-pro", ""},   // another model, six times the price
		{"gpt-5-mini", ""},    // another model, not gpt-5's price
		{"gpt-5.4", ""},       // not gpt-5 with something after it
		{"claude-opus-4", ""}, // a prefix of an entry is not that entry
		{"claude-opus-4-8[1m", ""},
		{"claude-opus-4-8-", ""},
		{"", ""},
	} {
		got, ok := table.Price(tc.model)
		if ok != (tc.want != "") || got.Model != tc.want {
			t.Errorf("Price(%q) = %q, %v; want %q", tc.model, got.Model, ok, tc.want)
		}
	}
}

func TestModelPriceCost(t *testing.T) {
	// Claude Code's own total for this usage of claude-opus-4-8 was $0.290105 (agent/testdata/claude).
	p := ModelPrice{Model: "claude-opus-4-8", Input: 5, Output: 25, CacheRead: 0.5, CacheWrite: 6.25}
	if got := p.Cost(57841, 36, 0, 0); math.Abs(got-0.290105) > 1e-9 {
		t.Errorf("Cost = %v, want 0.290105", got)
	}
	if got := p.Cost(0, 0, 1_000_000, 1_000_000); math.Abs(got-6.75) > 1e-9 {
		t.Errorf("cache cost = %v, want 6.75", got)
	}
}

func TestMonthStart(t *testing.T) {
	at := time.Date(2026, 5, 31, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // June 1st, 01:30 UTC
	if got, want := MonthStart(at), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("MonthStart = %v, want %v", got, want)
	}
}

func TestUserBudgetLimit(t *testing.T) {
	own, none := 12.5, 0.0
	for _, tc := range []struct {
		name string
		b    UserBudget
		def  float64
		want float64
	}{
		{name: "default", b: UserBudget{}, def: 10, want: 10},
		{name: "own", b: UserBudget{Own: &own}, def: 10, want: 12.5},
		{name: "own no limit", b: UserBudget{Own: &none}, def: 10, want: 0},
	} {
		if got := tc.b.Limit(tc.def); got != tc.want {
			t.Errorf("%s: Limit = %v, want %v", tc.name, got, tc.want)
		}
	}
}
