package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
)

func renderAccounts(l *AccountList) string {
	var b strings.Builder
	b.WriteString(plural(l.Count, "account") + "\n")
	for _, a := range l.Accounts {
		fmt.Fprintf(&b, "%s  %s  (source %s", a.ID, a.Name, a.Source)
		if a.OUPath != "" {
			fmt.Fprintf(&b, ", ou %s", a.OUPath)
		}
		if len(a.Tags) > 0 {
			tags, _ := json.Marshal(a.Tags)
			fmt.Fprintf(&b, ", tags %s", tags)
		}
		b.WriteString(")\n")
	}
	return b.String()
}

func renderTools(l *UpstreamToolList) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d upstream tools (seen through account %s)\n", len(l.Tools), l.AccountID)
	for _, t := range l.Tools {
		ro := ""
		if t.ReadOnly {
			ro = " [read-only]"
		}
		fmt.Fprintf(&b, "- %s%s: %s\n", t.Name, ro, t.Description)
	}
	return b.String()
}

// plural renders "1 account" or "3 accounts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
