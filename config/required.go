package config

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// RequiredError lists every required setting that is missing or invalid.
type RequiredError struct {
	Problems []string // one sentence per problem, in registry order
}

func (e *RequiredError) Error() string {
	return "required environment variables are missing or invalid:\n  " + strings.Join(e.Problems, "\n  ")
}

// requirement says what a required setting is for, how to make one and what
// a valid value looks like.
type requirement struct {
	purpose string
	howTo   string
	check   func(v string) string // "" when v is valid, else what is wrong with it
}

// requirements holds one entry per Setting with Required set.
var requirements = map[string]requirement{
	AuthSecret: {
		purpose: "it signs and encrypts sign-in sessions",
		howTo:   "generate one with `openssl rand -base64 32`",
		check: func(v string) string {
			if len(v) < 32 {
				return fmt.Sprintf("is too short (%d characters, at least 32 needed)", len(v))
			}
			return ""
		},
	},
	ServerBaseURL: {
		purpose: "it is the public address of this deployment, used in links and sign-in callbacks",
		howTo:   "set it to the absolute URL users open, such as https://sesame.example.com",
		check: func(v string) string {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Sprintf("is %q, which is not an absolute http(s) URL", v)
			}
			return ""
		},
	},
	EncryptionKey: {
		purpose: "it encrypts the API keys and tokens stored in the database",
		howTo:   "generate one with `openssl rand -hex 32`",
		check: func(v string) string {
			if len(v) != 64 {
				return fmt.Sprintf("must be 64 hex characters (32 bytes), got %d characters", len(v))
			}
			if _, err := hex.DecodeString(v); err != nil {
				return "must be 64 hex characters (32 bytes), but holds characters that are not hex digits"
			}
			return ""
		},
	},
}

// CheckRequired returns a *RequiredError naming every required setting
// (BETTER_AUTH_SECRET, BASE_URL, ENCRYPTION_KEY) that is missing or invalid,
// one per line, each with what it is for and how to make one; nil when all
// are good.
func (c *Config) CheckRequired() error {
	var problems []string
	for _, s := range registry {
		if !s.Required {
			continue
		}
		req := requirements[s.Key]
		v := c.values[s.Key].value
		what := "is not set"
		if v != "" {
			if what = req.check(v); what == "" {
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("%s %s: %s; %s.", s.Env, what, req.purpose, req.howTo))
	}
	if len(problems) == 0 {
		return nil
	}
	return &RequiredError{Problems: problems}
}
