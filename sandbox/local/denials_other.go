//go:build !linux

package local

// denials reports nothing outside Linux: there is no Landlock.
type denials struct{}

func (d *denials) watch(func(string, ...any)) {}
func (d *denials) add(int, *Sandbox)          {}
func (d *denials) forget(*Sandbox)            {}
