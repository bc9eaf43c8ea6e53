package results

import (
	"bytes"
	"encoding/json"
)

// Reply is a fan-out's answer as a client shows it to the model: one JSON
// document, sent as the structured content and, byte for byte, as the text
// (clients pick one of the two; Claude Code and Codex pass the model the
// structured content). The summary comes first, so that even a cut view
// starts with it; every account is named with its status; an answer or an
// error that several accounts share is written once.
type Reply struct {
	Summary ReplySummary `json:"summary"`
	// Note says what the reply leaves out and how to read it.
	Note string `json:"note,omitempty"`
	// Warnings name account sources that failed (their accounts are
	// missing) and accounts two sources both named.
	Warnings []string `json:"warnings,omitempty"`
	// Groups are the answers and the errors several accounts share: the
	// first account named holds it in results, the others say same_as.
	Groups []Group `json:"groups,omitempty"`
	// Results has one item per account (and region), in account order.
	Results []Item `json:"results"`
	// Unlisted names the successful accounts results leaves out when the
	// budget cannot hold an item for each.
	Unlisted *Unlisted `json:"unlisted,omitempty"`
}

// ReplySummary is the reply's first field: one line to read, then the
// counts.
type ReplySummary struct {
	// Text is the summary as one line.
	Text     string `json:"text"`
	ToolName string `json:"tool_name"`
	// JMESPath is the projection applied to every answer, if any.
	JMESPath string `json:"jmespath,omitempty"`
	// Region is the one region of every item, when there is one (items
	// then leave it out where the budget is tight).
	Region string `json:"region,omitempty"`
	Summary
}

// Item is one account's (and region's) outcome in a Reply: its answer
// (Data), or the account whose identical answer or error it shares
// (SameAs), or that its answer is left out (DataOmitted, Bytes), or its
// error.
type Item struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name,omitempty"`
	Region    string `json:"region,omitempty"`
	// Status is StatusSuccess, StatusError, StatusPending or StatusSkipped.
	Status string `json:"status"`
	// Data is the account's answer (Entry.Value), projected when the call
	// had a jmespath.
	Data json.RawMessage `json:"data,omitempty"`
	// SameAs names the item (account id, or account/region) whose answer
	// or error this one shares.
	SameAs      string `json:"same_as,omitempty"`
	DataOmitted bool   `json:"data_omitted,omitempty"`
	// Bytes is the size of an answer left out.
	Bytes      int    `json:"bytes,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS *int64 `json:"duration_ms,omitempty"`
}

// Group is an answer or an error that several accounts share.
type Group struct {
	Status    string `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	Count     int    `json:"count"`
	// Accounts are the items' labels (account id, or account/region); the
	// first holds the answer or the error.
	Accounts []string `json:"accounts"`
	// More counts accounts the budget left out of Accounts.
	More int `json:"more,omitempty"`
}

// Unlisted names successful accounts that have no item in results.
type Unlisted struct {
	Count    int      `json:"count"`
	Accounts []string `json:"accounts"`
	// More counts accounts the budget left unnamed here.
	More int `json:"more,omitempty"`
}

// Marshal encodes a value as a client re-encodes it (JSON.stringify):
// compact, no HTML escapes, so that the text of a tool result is exactly
// its structured content.
func Marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`{}`)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
