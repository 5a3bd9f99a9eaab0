package sesame

import "context"

// SettingEditor is a SettingStore that admins change settings through: several at once, all or
// nothing.
type SettingEditor interface {
	SettingStore
	// ApplySettings saves every value in set and removes the saved value of every key in unset (the
	// setting falls back to the config file or its default), by whom, in one transaction.
	ApplySettings(ctx context.Context, set map[string]string, unset []string, by string) error
}
