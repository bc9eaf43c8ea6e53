package proxy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// listAccountsSchema is the input schema of the tool; its properties are the
// arguments it takes.
const listAccountsSchema = `{"type": "object", "properties": {` + selectorProperties + `,
		"offset": {"type": "integer", "minimum": 0, "description": "Index of the first account to list (the previous answer's next_offset)."},
		"max_bytes": {"type": "integer", "description": "Size of the answer in bytes (default: the server's result budget); a larger one lists more accounts a page."}
	}, "additionalProperties": false}`

var listAccountsArgs = schemaArgs(listAccountsSchema)

// ListAccountsTool lists the configured accounts, optionally narrowed by
// selectors so an agent can preview a query_all selection: a summary of
// them all (counts by source, OU and tag, the delegated administrators),
// then as many accounts as fit the budget, paged with offset.
func ListAccountsTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolListAccounts,
		"List the AWS accounts this server can query: first a summary of all of them (the total, counts by source, OU path and tag, "+
			"and the delegated administrators: accounts that answer for the whole organization for a service such as Security Hub, "+
			"GuardDuty, AWS Config, IAM Access Analyzer, Inspector, Resource Explorer, Macie, Detective or Health), then each account "+
			"(id, name, source, OU path, OU id, tags) as far as the answer's budget goes; next_offset pages through the rest. "+
			"The optional selectors (ANDed together) preview which accounts query_all would target. "+
			"An organization-wide question about findings, configuration or inventory is best asked once, with query, "+
			"in the delegated administrator of that service, not with query_all over every account.",
		json.RawMessage(listAccountsSchema))
	tool.Annotations = annotations("List accounts", true)
	tool.RawOutputSchema = json.RawMessage(listAccountsOutputSchema)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		out, err := s.runListAccounts(ctx, rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		return structuredResult(out), nil
	}
}

func (s *Service) runListAccounts(ctx context.Context, raw json.RawMessage) (*AccountList, error) {
	args, err := ParseArgs(raw, listAccountsArgs...)
	if err != nil {
		return nil, err
	}
	sel, err := selectorArgs(args)
	if err != nil {
		return nil, err
	}
	offset, _, err := args.Int("offset")
	if err != nil {
		return nil, err
	}
	budget, err := s.budgetArg(args)
	if err != nil {
		return nil, err
	}
	list, err := s.ListAccounts(ctx, sel)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > int64(list.Count) {
		return nil, fmt.Errorf("offset %d is outside the %s listed (0 to %d)", offset, results.Plural(list.Count, "account"), list.Count)
	}
	return list.page(int(offset), budget), nil
}

// invokeListAccounts is list_accounts for the Lambda bridge.
func invokeListAccounts(ctx context.Context, s *Service, args json.RawMessage, _ Progress) (any, error) {
	return s.runListAccounts(ctx, args)
}

// AccountList is the answer of list_accounts: the summary of every
// selected account, then the accounts from Offset on (all of them, from
// ListAccounts; as many as fit the budget, from the tool).
type AccountList struct {
	Summary AccountSummary `json:"summary"`
	// Note says what the answer leaves out and how to read on.
	Note string `json:"note,omitempty"`
	// Warnings name account sources that failed (their accounts are
	// missing), accounts left out, and what a source could not learn.
	Warnings []string           `json:"warnings,omitempty"`
	Accounts []accounts.Account `json:"accounts"`
	// Count is the number of accounts selected, listed here or not.
	Count  int `json:"count"`
	Offset int `json:"offset"`
	// NextOffset is the offset of the next page, while accounts remain.
	NextOffset int `json:"next_offset,omitempty"`
}

// AccountSummary describes every selected account, however many the
// answer lists.
type AccountSummary struct {
	Text     string         `json:"text"`
	Total    int            `json:"total"`
	Listed   int            `json:"listed"`
	BySource map[string]int `json:"by_source"`
	// ByOU counts the accounts of the most common OU paths; OUsMore counts
	// the OU paths left out.
	ByOU    map[string]int `json:"by_ou,omitempty"`
	OUsMore int            `json:"ous_more,omitempty"`
	// ByTag counts the accounts of the most common tags ("env=prod");
	// TagsMore counts the tag values left out (values of one account
	// each, such as an email, are never listed: TagKeys counts them).
	ByTag    map[string]int `json:"by_tag,omitempty"`
	TagsMore int            `json:"tags_more,omitempty"`
	TagKeys  map[string]int `json:"tag_keys,omitempty"`
	// DelegatedAdministrators are the accounts that answer for the whole
	// organization, each for its service principals.
	DelegatedAdministrators []DelegatedAdmin `json:"delegated_administrators,omitempty"`
}

// DelegatedAdmin is an organization's delegated administrator account.
type DelegatedAdmin struct {
	AccountID string   `json:"account_id"`
	Name      string   `json:"name"`
	Services  []string `json:"services"`
}

// Bounds of the summary, so that it fits any budget whatever the size of
// the organization.
const (
	summaryOUs      = 25
	summaryTags     = 40
	summaryTagKeys  = 30
	summaryAdmins   = 50
	warningMaxBytes = 2048
	// identifierValues: a tag key with more distinct values than this,
	// most accounts having a value of their own, identifies accounts.
	identifierValues = 10
)

// ListAccounts returns every configured account that matches sel (and the
// caller's scope), with the summary of them.
func (s *Service) ListAccounts(ctx context.Context, sel accounts.Selector) (*AccountList, error) {
	picked, err := s.selectAccounts(ctx, sel)
	if err != nil && !(sel.IsZero() && errors.Is(err, accounts.ErrEmptySelection)) {
		return nil, err // no account at all is a list of none, with the warnings saying why
	}
	all, warnings := picked.selected, picked.warnings
	if all == nil {
		all = []accounts.Account{}
	}
	l := &AccountList{Accounts: all, Count: len(all), Warnings: warnings, Summary: summarize(all)}
	l.Summary.Listed = len(all)
	if w := s.delegatedUnknown(all); w != "" {
		l.Warnings = append(l.Warnings, w)
	}
	l.Summary.Text = l.summaryText()
	return l, nil
}

// page is the list from offset on, as many accounts as fit budget bytes
// of JSON (at least one, so that paging always advances).
func (l *AccountList) page(offset, budget int) *AccountList {
	p := *l
	p.Offset = offset
	p.Warnings = make([]string, len(l.Warnings))
	for i, w := range l.Warnings {
		p.Warnings[i] = results.Clip(w, warningMaxBytes)
	}
	rest := l.Accounts[offset:]
	// Sizes first: the summary and the note with the largest numbers they
	// can carry, then one account after another.
	p.Accounts, p.Summary.Listed, p.NextOffset = nil, len(rest), max(l.Count, 1)
	p.Note = p.note()
	used := len(results.Marshal(&p))
	n := 0
	for n < len(rest) {
		size := len(results.Marshal(rest[n])) + 1
		if used+size > budget && n > 0 {
			break
		}
		used += size
		n++
	}
	for {
		p.Accounts, p.Summary.Listed, p.NextOffset = rest[:n], n, 0
		if offset+n < l.Count {
			p.NextOffset = offset + n
		}
		p.Summary.Text = p.summaryText()
		p.Note = p.note()
		if n <= 1 || len(results.Marshal(&p)) <= budget {
			return &p
		}
		n--
	}
}

// summaryText is the summary as one line.
func (l *AccountList) summaryText() string {
	text := results.Plural(l.Count, "account")
	if l.Summary.Listed < l.Count {
		text += fmt.Sprintf(", %d to %d listed here", l.Offset+1, l.Offset+l.Summary.Listed)
	}
	if n := len(l.Summary.DelegatedAdministrators); n > 0 {
		text += fmt.Sprintf("; %s for the organization", results.Plural(n, "delegated administrator"))
	}
	return text + "."
}

// note says how to read on, when accounts remain.
func (l *AccountList) note() string {
	var parts []string
	if l.NextOffset > 0 {
		left := l.Count - l.NextOffset
		parts = append(parts, fmt.Sprintf("%s more: call list_accounts again with \"offset\": %d for the next page (max_bytes lists more a page), "+
			"or narrow with the accounts, tags or ou selectors; the summary counts them all.", results.Plural(left, "account"), l.NextOffset))
	}
	if len(l.Summary.DelegatedAdministrators) > 0 {
		parts = append(parts, "For an organization-wide question about findings, configuration or inventory, one query in the delegated "+
			"administrator of that service answers for every account (e.g. Security Hub GetFindings, Config SelectAggregateResourceConfig, "+
			"Resource Explorer Search), instead of query_all over each account and Region.")
	}
	return strings.Join(parts, " ")
}

// summarize counts accounts by source, OU path and tag, and names the
// delegated administrators.
func summarize(all []accounts.Account) AccountSummary {
	s := AccountSummary{Total: len(all), BySource: map[string]int{}}
	ous, tags, keys := map[string]int{}, map[string]int{}, map[string]int{}
	for _, a := range all {
		s.BySource[a.Source]++
		if a.OUPath != "" {
			ous[a.OUPath]++
		}
		for k, v := range a.Tags {
			keys[k]++
			tags[k+"="+v]++
		}
		if len(a.DelegatedAdminFor) > 0 && len(s.DelegatedAdministrators) < summaryAdmins {
			s.DelegatedAdministrators = append(s.DelegatedAdministrators, DelegatedAdmin{AccountID: a.ID, Name: a.Name, Services: a.DelegatedAdminFor})
		}
	}
	// A key whose values are mostly distinct (an email, an owner) names
	// accounts, not groups of them: tag_keys counts it, by_tag leaves it.
	distinct := map[string]int{}
	for tag := range tags {
		distinct[tag[:strings.IndexByte(tag, '=')]]++
	}
	for tag := range tags {
		if k := tag[:strings.IndexByte(tag, '=')]; distinct[k] > identifierValues && 2*distinct[k] > keys[k] {
			delete(tags, tag)
		}
	}
	s.ByOU, s.OUsMore = mostCommon(ous, summaryOUs)
	s.ByTag, s.TagsMore = mostCommon(tags, summaryTags)
	if len(keys) > 0 {
		s.TagKeys, _ = mostCommon(keys, summaryTagKeys)
	}
	return s
}

// mostCommon keeps the n largest counts (ties by name) and says how many
// it left out.
func mostCommon(counts map[string]int, n int) (map[string]int, int) {
	if len(counts) == 0 {
		return nil, 0
	}
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		return cmp.Or(cmp.Compare(counts[names[j]], counts[names[i]]), strings.Compare(names[i], names[j])) < 0
	})
	out := make(map[string]int, min(n, len(names)))
	for _, k := range names[:min(n, len(names))] {
		out[k] = counts[k]
	}
	return out, len(names) - len(out)
}

// delegatedUnknown says why no delegated administrator is named where a
// source cannot know them (an IAM Identity Center portal names none).
func (s *Service) delegatedUnknown(all []accounts.Account) string {
	if !slices.ContainsFunc(all, func(a accounts.Account) bool { return a.Source == accounts.SourceSSO }) ||
		slices.ContainsFunc(all, func(a accounts.Account) bool { return len(a.DelegatedAdminFor) > 0 }) {
		return ""
	}
	return "IAM Identity Center does not say which accounts are the organization's delegated administrators (Security Hub, GuardDuty, " +
		"AWS Config, ...): the AWS Organizations source (" + s.cfg.setting("org") + ", from the management account) does."
}

// listAccounts lists the accounts, turning failed sources into warnings.
func (s *Service) listAccounts(ctx context.Context) ([]accounts.Account, []string, error) {
	all, err := s.dir.List(ctx)
	var partial *accounts.PartialError
	if errors.As(err, &partial) {
		warnings := make([]string, len(partial.Errs))
		for i, e := range partial.Errs {
			warnings[i] = e.Error()
			s.log.Warn("account source failed", "error", e)
		}
		return all, append(warnings, s.dir.Warnings()...), nil
	}
	return all, s.dir.Warnings(), err
}

const listAccountsOutputSchema = `{
  "type": "object",
  "properties": {
    "summary": {"type": "object", "properties": {
      "text": {"type": "string"}, "total": {"type": "integer"}, "listed": {"type": "integer"},
      "by_source": {"type": "object", "additionalProperties": {"type": "integer"}},
      "by_ou": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Accounts of the most common OU paths."},
      "ous_more": {"type": "integer"},
      "by_tag": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Accounts of the most common tags, as key=value."},
      "tags_more": {"type": "integer"},
      "tag_keys": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Accounts that have each tag key."},
      "delegated_administrators": {"type": "array", "items": {"type": "object", "properties": {
        "account_id": {"type": "string"}, "name": {"type": "string"}, "services": {"type": "array", "items": {"type": "string"}}
      }, "required": ["account_id", "services"]}, "description": "Accounts that answer for the whole organization for these service principals."}
    }, "required": ["text", "total", "listed"]},
    "note": {"type": "string"},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed (their accounts are missing), and what a source could not learn."},
    "accounts": {"type": "array", "items": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"}, "source": {"type": "string"},
      "ou_path": {"type": "string"}, "ou_id": {"type": "string"},
      "tags": {"type": "object", "additionalProperties": {"type": "string"}},
      "role_name": {"type": "string"}, "regions": {"type": "array", "items": {"type": "string"}},
      "profile": {"type": "string"}, "sso_role": {"type": "string"}, "sso_read_only": {"type": "boolean"},
      "delegated_admin_for": {"type": "array", "items": {"type": "string"}, "description": "Service principals this account is the organization's delegated administrator for."}
    }, "required": ["id", "name", "source"]}},
    "count": {"type": "integer", "description": "Accounts selected, listed in this answer or not."},
    "offset": {"type": "integer"},
    "next_offset": {"type": "integer", "description": "Pass as offset to list the next accounts; absent on the last page."}
  },
  "required": ["summary", "accounts", "count"]
}`
