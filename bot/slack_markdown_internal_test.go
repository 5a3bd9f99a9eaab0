package bot

import "testing"

func TestSlackMarkdown(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		{"link", "task [`0193`](https://s.example/tasks/0193)", "task <https://s.example/tasks/0193|0193>"},
		{"bold", "📋 **Sesame's tasks**, newest first:", "📋 *Sesame's tasks*, newest first:"},
		{"code stays", "`fix <b> & co`", "`fix &lt;b&gt; &amp; co`"},
		{"ampersand in a URL", "[#2](https://x.example/?a=1&b=2)", "<https://x.example/?a=1&amp;b=2|#2>"},
		{"no link without a URL", "[not a link] (x)", "[not a link] (x)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackMarkdown(tt.md); got != tt.want {
				t.Errorf("slackMarkdown(%q) = %q, want %q", tt.md, got, tt.want)
			}
		})
	}
}
