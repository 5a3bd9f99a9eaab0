package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// gravatarOrigin serves Gravatar pictures; the pages' Content-Security-Policy lets images come from
// it only while gravatar.enabled is on.
const gravatarOrigin = "https://www.gravatar.com"

// avatar is how a user is pictured: their initial, with their Gravatar over it when avatars are on.
// The picture is asked for with d=blank, so someone without a Gravatar gets a transparent image and
// their initial shows through: the fallback needs no script and no request of ours to Gravatar.
type avatar struct {
	Initial string
	URL     string // "" when Gravatar is off
}

// avatarOf returns u's avatar.
func avatarOf(u *sesame.User, gravatar bool) avatar {
	a := avatar{Initial: initial(u.Name, u.Email)}
	if gravatar && u.Email != "" {
		a.URL = gravatarURL(u.Email)
	}
	return a
}

// gravatarURL is the address of the Gravatar of email: its SHA-256 hash, as Gravatar documents,
// of the trimmed, lower-cased address.
func gravatarURL(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return gravatarOrigin + "/avatar/" + hex.EncodeToString(sum[:]) + "?s=64&d=blank"
}

// initial is the first letter of name, else of email, upper-cased; "?" when neither has one.
func initial(name, email string) string {
	for _, s := range []string{name, email} {
		for _, r := range strings.TrimSpace(s) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return strings.ToUpper(string(r))
			}
		}
	}
	return "?"
}

// gravatarOn reads gravatar.enabled as admins have it now.
func (a *App) gravatarOn(ctx context.Context) bool {
	cfg, err := a.settings(ctx)
	if err != nil {
		return false
	}
	return cfg.Bool(config.GravatarEnabled)
}
