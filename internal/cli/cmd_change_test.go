package cli

import (
	"strings"
	"testing"
)

func TestConfirmWantsTheNumberOfAccountsTyped(t *testing.T) {
	tests := []struct {
		typed string
		want  bool
	}{
		{"40\n", true},
		{" 40 \n", true},
		{"40", true},
		{"y\n", false},
		{"yes\n", false},
		{"39\n", false},
		{"", false},
	}
	for _, tt := range tests {
		var prompt strings.Builder
		if got := confirm(strings.NewReader(tt.typed), &prompt, 40); got != tt.want {
			t.Errorf("typed %q: confirm = %v, want %v", tt.typed, got, tt.want)
		}
		if !strings.Contains(prompt.String(), "(40)") {
			t.Errorf("the prompt does not name the number: %q", prompt.String())
		}
	}
}
