package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// renderQueryAll is the readable text of a fan-out: a summary line, then
// each account's outcome with the text the upstream answered.
func renderQueryAll(r *QueryAllResult) string {
	var b strings.Builder
	size := 256
	for _, res := range r.Results {
		size += 128 + min(len(res.Data), maxTextPerResult) + len(res.Error)
	}
	b.Grow(size)
	s := r.Summary
	fmt.Fprintf(&b, "%s: %d of %d succeeded, %d failed (%s, %s, %s)\n",
		r.ToolName, s.Succeeded, s.Total, s.Failed, plural(s.Accounts, "account"), plural(s.Regions, "region"),
		time.Duration(s.DurationMS)*time.Millisecond)
	for _, res := range r.Results {
		if res.Status == StatusSuccess {
			fmt.Fprintf(&b, "\n## %s %s (%s): success, %d ms\n", res.AccountID, res.Name, res.Region, res.DurationMS)
			b.WriteString(clip(UpstreamText(res.Data), maxTextPerResult))
		} else {
			fmt.Fprintf(&b, "\n## %s %s (%s): error\n", res.AccountID, res.Name, res.Region)
			b.WriteString(res.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// maxTextPerResult caps one account's answer in the readable text of a
// fan-out; structuredContent always carries the whole answer. Without a
// cap, 2,000 large answers make a text no agent can read in one go.
const maxTextPerResult = 8 << 10

// clip cuts text to at most n bytes on a rune boundary, saying so.
func clip(text string, n int) string {
	if len(text) <= n {
		return text
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + fmt.Sprintf("\n… (%d more bytes; the whole answer is in structuredContent)", len(text)-cut)
}

// upstreamResult is what the proxy reads of an upstream tools/call result.
type upstreamResult struct {
	IsError bool `json:"isError"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
}

// UpstreamText returns the text content of an upstream tools/call result,
// else its structured content, else the result's JSON.
func UpstreamText(data json.RawMessage) string {
	var r upstreamResult
	if json.Unmarshal(data, &r) == nil {
		var parts []string
		for _, c := range r.Content {
			if c.Type == "text" {
				parts = append(parts, c.Text)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "\n")
		}
		if len(r.StructuredContent) > 0 && string(r.StructuredContent) != "null" {
			return string(r.StructuredContent)
		}
	}
	return string(data)
}

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
