package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
)

// Defaults of the result budget.
const (
	// DefaultBudget bounds the text of a stdio tool result.
	DefaultBudget = 32 << 10
	// DefaultLambdaBudget bounds a Lambda bridge answer.
	DefaultLambdaBudget = 256 << 10
	// DefaultBudgetMax is the hard ceiling of a per-call max_bytes.
	DefaultBudgetMax = 1 << 20
	// MinBudget is the smallest budget a call may ask for.
	MinBudget = 1 << 10
)

// RenderOptions say how to fit an Answer into a tool result.
type RenderOptions struct {
	// Budget bounds the text content in bytes (DefaultBudget when 0).
	Budget int
	// Total bounds the serialized tool result: text, structured content
	// and links together; 3×Budget when 0.
	Total int
	// ResultID names the stored result; "" when the answers are not kept.
	ResultID string
	// NotKept says, when ResultID is "", why omitted data cannot be read
	// later; the text then advises narrowing the call.
	NotKept string
	// LinkURI returns the resource URI of an entry's stored answer; nil
	// means no resource links.
	LinkURI func(Entry) string
	// StructuredOnly fits the structured content alone into Budget (the
	// Lambda bridge answers with that object only).
	StructuredOnly bool
}

// Link is a resource_link to one stored answer.
type Link struct {
	URI, Name, Description string
}

// Rendered is an Answer fitted to a budget.
type Rendered struct {
	// Text is the readable text: every account with its status, the
	// answers that fit, and how to read the rest.
	Text string
	// Answer is the structured content: the same entries, with data where
	// it fits and data_omitted elsewhere.
	Answer *Answer
	// Links are resource links to stored answers, those not shown in full
	// first.
	Links []Link
}

// envelopeSlack covers the JSON-RPC envelope and the content wrappers.
const envelopeSlack = 2048

// Render fits a fan-out's answer into the budget. Entries keep their order;
// identical answers and identical failures are grouped in the text.
func Render(a *Answer, opts RenderOptions) *Rendered {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Total <= 0 {
		opts.Total = 3 * opts.Budget
	}
	l := newLayout(a, opts)
	out := &Rendered{}
	structuredRoom := opts.Total - envelopeSlack
	if !opts.StructuredOnly {
		out.Text = l.text()
		textJSON, _ := json.Marshal(out.Text)
		structuredRoom -= len(textJSON)
		out.Links = l.links(min(opts.Budget/4, structuredRoom/3))
		for _, link := range out.Links {
			structuredRoom -= linkCost(link)
		}
	} else {
		structuredRoom = opts.Budget - envelopeSlack
	}
	out.Answer = l.structured(structuredRoom)
	return out
}

// view is what the layout knows of one entry.
type view struct {
	label string
	// text is the display form of a successful answer (compact JSON, or
	// the text itself); "" when it cannot fit any budget.
	text string
	// size is the display text's length; full is the length of the answer
	// get_result returns.
	size, full int
	key        string
}

// unit is a shown-or-omitted block: one answer, or a group of accounts
// with identical answers.
type unit struct {
	members []int
	text    string
	size    int
	shown   bool
}

// layout decides what the text shows.
type layout struct {
	a      *Answer
	opts   RenderOptions
	views  []view
	units  []*unit
	errors []*errorGroup
	// skipped groups the targets a change never started, by reason.
	skipped []*errorGroup
	multi   bool
	// level is the detail of account lists: 0 with sizes, 1 without, 2
	// cut short.
	level int
}

type errorGroup struct {
	code, message string
	members       []int
}

func newLayout(a *Answer, opts RenderOptions) *layout {
	l := &layout{a: a, opts: opts, views: make([]view, len(a.Results))}
	regions := map[string]bool{}
	for _, e := range a.Results {
		regions[e.Region] = true
	}
	l.multi = len(regions) > 1
	byKey := map[string]*unit{}
	errByKey := map[string]*errorGroup{}
	for i, e := range a.Results {
		v := &l.views[i]
		v.label = e.AccountID
		if l.multi {
			v.label += "/" + e.Region
		}
		switch {
		case e.Status == StatusSuccess && e.hasData():
			text := e.Answer()
			v.full = len(text)
			display := displayText(text)
			v.size = len(display)
			sum := sha256.Sum256([]byte(display))
			v.key = string(sum[:])
			if v.size <= opts.Budget {
				v.text = display
			}
			if u := byKey[v.key]; u != nil {
				u.members = append(u.members, i)
				continue
			}
			u := &unit{members: []int{i}, text: v.text, size: v.size}
			byKey[v.key] = u
			l.units = append(l.units, u)
		case e.Status == StatusPending:
		case e.Status == StatusSkipped:
			if n := len(l.skipped); n > 0 && l.skipped[n-1].message == e.Error {
				l.skipped[n-1].members = append(l.skipped[n-1].members, i)
				continue
			}
			l.skipped = append(l.skipped, &errorGroup{code: StatusSkipped, message: e.Error, members: []int{i}})
		default:
			msg := e.Error
			if e.Status == StatusSuccess {
				msg = "the answer was not kept"
			}
			key := e.ErrorCode + "\x00" + normalizeError(msg, e.AccountID)
			if g := errByKey[key]; g != nil {
				g.members = append(g.members, i)
				continue
			}
			g := &errorGroup{code: e.ErrorCode, message: strings.ReplaceAll(msg, e.AccountID, "<account>"), members: []int{i}}
			errByKey[key] = g
			l.errors = append(l.errors, g)
		}
	}
	l.choose()
	return l
}

// displayText is an answer as the text shows it: JSON compacted (the AWS
// CLI pretty-prints), anything else as it is.
func displayText(text string) string {
	trimmed := strings.TrimSpace(text)
	if strings.HasPrefix(trimmed, "{") && strings.Contains(trimmed, `"return_value"`) {
		var v any
		if gojson.Unmarshal([]byte(trimmed), &v) == nil {
			if value, ok := scriptReturn(v); ok {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetEscapeHTML(false)
				if enc.Encode(value) == nil {
					return strings.TrimSuffix(b.String(), "\n")
				}
			}
		}
	}
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var b bytes.Buffer
		if json.Compact(&b, []byte(trimmed)) == nil {
			return b.String()
		}
	}
	return trimmed
}

var (
	durationPattern = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)\b`)
	clockPattern    = regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}(\.\d+)?Z?\b`)
)

// normalizeError is the grouping key of a failure: the message with the
// account id, durations and clock times taken out.
func normalizeError(msg, accountID string) string {
	msg = strings.ReplaceAll(msg, accountID, "<account>")
	msg = durationPattern.ReplaceAllString(msg, "<d>")
	return clockPattern.ReplaceAllString(msg, "<t>")
}

// choose marks which units the text shows: groups first (largest first),
// then single answers in account order, while the budget lasts. It first
// settles the level of detail at which every account can be named.
func (l *layout) choose() {
	if l.opts.StructuredOnly {
		return
	}
	for l.level = 0; l.level < 2; l.level++ {
		if len(l.assemble(l.level)) <= l.opts.Budget {
			break
		}
	}
	if l.level == 2 {
		return // not even the account list fits: show no answer
	}
	order := make([]*unit, len(l.units))
	copy(order, l.units)
	sort.SliceStable(order, func(i, j int) bool {
		gi, gj := len(order[i].members) > 1, len(order[j].members) > 1
		if gi != gj {
			return gi
		}
		return gi && len(order[i].members) > len(order[j].members)
	})
	const slack = 96 // the note's numbers change width as units are shown
	used := len(l.assemble(l.level))
	var shown []*unit
	for _, u := range order {
		if u.text == "" && u.size > 0 {
			continue
		}
		delta := len(l.shownBlock(u)) - l.omitCost(u)
		if used+delta+slack <= l.opts.Budget {
			u.shown = true
			used += delta
			shown = append(shown, u)
		}
	}
	// The arithmetic is exact but for the note; undo the last shown units
	// while the text is too long.
	for len(shown) > 0 && len(l.assemble(l.level)) > l.opts.Budget {
		shown[len(shown)-1].shown = false
		shown = shown[:len(shown)-1]
	}
}

// omitCost is what a unit takes in the "Not shown" list.
func (l *layout) omitCost(u *unit) int {
	if len(u.members) > 1 {
		return len(l.groupOmitLine(u, l.level == 0))
	}
	return len(l.omitItem(u.members[0], l.level == 0)) + len(", ")
}

// text renders the final text.
func (l *layout) text() string { return l.assemble(l.level) }

// assemble writes the text at a level of detail: 0 lists omitted answers
// with their sizes, 1 without, 2 cuts long account lists short.
func (l *layout) assemble(level int) string {
	var b strings.Builder
	a := l.a
	s := a.Summary
	fmt.Fprintf(&b, "%s: %d of %d succeeded, %d failed", a.ToolName, s.Succeeded, s.Total, s.Failed)
	if s.Pending > 0 {
		fmt.Fprintf(&b, ", %d pending", s.Pending)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", s.Skipped)
	}
	fmt.Fprintf(&b, " (%s, %s, %s)", Plural(s.Accounts, "account"), Plural(s.Regions, "region"), (time.Duration(s.DurationMS) * time.Millisecond).String())
	if a.JMESPath != "" {
		fmt.Fprintf(&b, ", jmespath %q", a.JMESPath)
	}
	if l.opts.ResultID != "" {
		fmt.Fprintf(&b, ". result_id: %s", l.opts.ResultID)
	}
	b.WriteString("\n")
	for _, w := range a.Warnings {
		b.WriteString("Warning: " + clipLine(w, 300) + "\n")
	}
	b.WriteString(l.note())

	for _, groups := range []bool{true, false} {
		for _, u := range l.units {
			if u.shown && (len(u.members) > 1) == groups {
				b.WriteString(l.shownBlock(u))
			}
		}
	}
	remaining := l.opts.Budget - b.Len()
	lists := &listWriter{level: level, room: remaining - 400}

	var omitted []int
	var omittedGroups []*unit
	for _, u := range l.units {
		if u.shown {
			continue
		}
		if len(u.members) > 1 {
			omittedGroups = append(omittedGroups, u)
		} else {
			omitted = append(omitted, u.members[0])
		}
	}
	if len(omitted)+len(omittedGroups) > 0 {
		b.WriteString("\nNot shown (the stored result has them):\n")
		for _, u := range omittedGroups {
			b.WriteString(l.groupLine(u, level == 0, lists))
		}
		if len(omitted) > 0 {
			items := make([]string, len(omitted))
			for i, idx := range omitted {
				items[i] = l.omitItem(idx, level == 0)
			}
			b.WriteString("- " + lists.join(items) + "\n")
		}
	}
	if len(l.errors) > 0 {
		b.WriteString("\nFailed:\n")
		for _, g := range l.errors {
			b.WriteString(l.errorLine(g, lists))
		}
	}
	if len(l.skipped) > 0 {
		b.WriteString("\nSkipped (not run):\n")
		for _, g := range l.skipped {
			b.WriteString(l.errorLine(g, lists))
		}
	}
	var pending []string
	for i, e := range a.Results {
		if e.Status == StatusPending {
			pending = append(pending, l.views[i].label)
		}
	}
	if len(pending) > 0 {
		b.WriteString("\nPending (still running")
		if l.opts.ResultID != "" {
			b.WriteString("; get_result shows them when they finish")
		}
		b.WriteString("): " + lists.join(pending) + "\n")
	}
	if lists.cut > 0 {
		fmt.Fprintf(&b, "\n(%d more accounts are not named for the budget", lists.cut)
		if l.opts.ResultID != "" {
			b.WriteString("; get_result with the result_id lists every one")
		}
		b.WriteString(")\n")
	}
	return b.String()
}

// note says what the text shows, what it leaves out and how to read it.
func (l *layout) note() string {
	shownAnswers, shownAccounts, omittedAnswers, omittedBytes := 0, 0, 0, 0
	for _, u := range l.units {
		if u.shown {
			shownAnswers++
			shownAccounts += len(u.members)
		} else {
			omittedAnswers += len(u.members)
			for _, m := range u.members {
				omittedBytes += l.views[m].full
			}
		}
	}
	if omittedAnswers == 0 {
		if shownAnswers == 0 {
			return ""
		}
		return fmt.Sprintf("Every answer is shown (%s).\n", Plural(shownAccounts, "account"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Answers shown in full: %d of %s (%s). Not shown, to fit the %s budget: %s, %s in all, listed under \"Not shown\".",
		shownAccounts, Plural(shownAccounts+omittedAnswers, "successful account"), Plural(shownAnswers, "distinct answer"),
		Size(l.opts.Budget), Plural(omittedAnswers, "answer"), Size(omittedBytes))
	hint := l.hint()
	if l.opts.ResultID != "" {
		fmt.Fprintf(&b, " Read one with get_result {\"result_id\": %q, \"account_id\": \"<id>\"} (paged with offset), or re-project every answer without calling AWS again with get_result {\"result_id\": %q, \"jmespath\": %q}.",
			l.opts.ResultID, l.opts.ResultID, hint)
	} else {
		why := l.opts.NotKept
		if why == "" {
			why = "the answers are not kept"
		}
		fmt.Fprintf(&b, " Their data cannot be read later (%s): narrow the call with a jmespath (e.g. %q), the AWS CLI's own --query in cli_command, or the accounts, tags and ou selectors.", why, hint)
	}
	b.WriteString("\n")
	return b.String()
}

// hint suggests a projection for the first omitted JSON answer.
func (l *layout) hint() string {
	for _, u := range l.units {
		if u.shown {
			continue
		}
		e := l.a.Results[u.members[0]]
		if v, err := jsonOf(e.withData().Data); err == nil {
			if h := suggest(v); h != "" {
				return h
			}
		}
	}
	return "Reservations[].Instances[].[InstanceId, State.Name]"
}

func (l *layout) shownBlock(u *unit) string {
	if len(u.members) > 1 {
		labels := make([]string, len(u.members))
		for i, m := range u.members {
			labels[i] = l.views[m].label
		}
		return fmt.Sprintf("\n## %d accounts, identical answer: %s\n%s\n", len(u.members), strings.Join(labels, ", "), u.text)
	}
	m := u.members[0]
	e := l.a.Results[m]
	head := e.AccountID + " " + e.Name
	if l.multi {
		head += " (" + e.Region + ")"
	}
	return "\n## " + head + "\n" + u.text + "\n"
}

func (l *layout) omitItem(m int, withSize bool) string {
	if !withSize {
		return l.views[m].label
	}
	return l.views[m].label + " (" + shortSize(l.views[m].full) + ")"
}

// groupOmitLine lists a group of identical answers the text leaves out.
func (l *layout) groupOmitLine(u *unit, withSize bool) string {
	return l.groupLine(u, withSize, &listWriter{})
}

func (l *layout) groupLine(u *unit, withSize bool, lists *listWriter) string {
	labels := make([]string, len(u.members))
	for i, m := range u.members {
		labels[i] = l.views[m].label
	}
	size := ""
	if withSize {
		size = " (" + shortSize(l.views[u.members[0]].full) + " each)"
	}
	return fmt.Sprintf("- %d accounts, identical answer%s: %s\n", len(u.members), size, lists.join(labels))
}

func (l *layout) errorLine(g *errorGroup, lists *listWriter) string {
	code := g.code
	if code == "" {
		code = "error"
	}
	if len(g.members) == 1 {
		m := g.members[0]
		e := l.a.Results[m]
		return fmt.Sprintf("- %s %s: %s: %s\n", lists.join([]string{l.views[m].label}), e.Name, code, clipLine(e.Error, 400))
	}
	labels := make([]string, len(g.members))
	for i, m := range g.members {
		labels[i] = l.views[m].label
	}
	return fmt.Sprintf("- %s, %s: %s: %s\n", Plural(len(g.members), "account"), code, clipLine(g.message, 400), lists.join(labels))
}

// listWriter joins account labels; at level 2 it stops naming accounts
// once its room is spent and counts the rest.
type listWriter struct {
	level int
	room  int
	cut   int
}

func (w *listWriter) join(items []string) string {
	if w.level < 2 {
		return strings.Join(items, ", ")
	}
	var b strings.Builder
	for i, it := range items {
		if w.room < len(it)+2 {
			w.cut += len(items) - i
			if i == 0 {
				return "(not named)"
			}
			fmt.Fprintf(&b, ", … %d more", len(items)-i)
			return b.String()
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it)
		w.room -= len(it) + 2
	}
	return b.String()
}

// links returns resource links to stored answers within room bytes: those
// the text leaves out first, then those it shows.
func (l *layout) links(room int) []Link {
	if l.opts.LinkURI == nil || l.opts.ResultID == "" {
		return nil
	}
	var out []Link
	add := func(i int) bool {
		e := l.a.Results[i]
		link := Link{
			URI:         l.opts.LinkURI(e),
			Name:        e.AccountID + " " + e.Region,
			Description: fmt.Sprintf("Answer of %s (%s) in %s, %s", e.Name, e.AccountID, e.Region, Size(l.views[i].full)),
		}
		if cost := linkCost(link); cost <= room {
			room -= cost
			out = append(out, link)
			return true
		}
		return false
	}
	for _, shown := range []bool{false, true} {
		for _, u := range l.units {
			if u.shown != shown {
				continue
			}
			for _, m := range u.members {
				if !add(m) {
					return out
				}
			}
		}
	}
	return out
}

func linkCost(link Link) int {
	raw, _ := json.Marshal(map[string]string{"type": "resource_link", "uri": link.URI, "name": link.Name,
		"description": link.Description, "mimeType": "text/plain"})
	return len(raw) + 1
}

// structured builds the structured content within room bytes: every entry
// without its data first, then data where it fits, answers the text shows
// first. When even that is too much, successful entries are left out of
// results from the end (Summary.Listed says how many remain).
func (l *layout) structured(room int) *Answer {
	out := *l.a
	out.Results = make([]Entry, len(l.a.Results))
	shown := make([]bool, len(l.a.Results))
	for _, u := range l.units {
		for _, m := range u.members {
			shown[m] = u.shown
		}
	}
	sizes := make([]int, len(out.Results))
	for i, e := range l.a.Results {
		if e.hasData() {
			e.Data, e.DataOmitted, e.Bytes = nil, true, l.views[i].full
			if e.Status != StatusSuccess {
				e.DataOmitted, e.Bytes = false, 0
			}
		}
		out.Results[i] = e
		sizes[i] = jsonLen(e) + 1
	}
	out.Summary.Listed = 0
	out.Summary.ResultID = l.opts.ResultID
	out.Summary.Omitted = 0
	used := jsonLen(out) // entries included
	if used > room {
		listed := out.Results
		for i := len(listed) - 1; i >= 0 && used > room; i-- {
			if listed[i].Status == StatusSuccess {
				used -= sizes[i]
				listed = append(listed[:i], listed[i+1:]...)
				shown = append(shown[:i], shown[i+1:]...)
			}
		}
		out.Results = listed
		out.Summary.Listed = len(listed)
		used = jsonLen(out)
	}
	// Data, answers the text shows first.
	byAccount := map[string]int{}
	for i, e := range l.a.Results {
		byAccount[e.AccountID+"\x00"+e.Region] = i
	}
	for _, pass := range []bool{true, false} {
		for i := range out.Results {
			e := &out.Results[i]
			if !e.DataOmitted || shown[i] != pass {
				continue
			}
			src := l.a.Results[byAccount[e.AccountID+"\x00"+e.Region]].withData()
			grow := len(src.Data) + len(`,"data":`) - len(fmt.Sprintf(`,"data_omitted":true,"bytes":%d`, e.Bytes))
			if used+grow > room {
				continue
			}
			e.Data, e.DataOmitted, e.Bytes = src.Data, false, 0
			used += grow
		}
	}
	for _, e := range l.a.Results {
		if e.Status == StatusSuccess {
			out.Summary.Omitted++
		}
	}
	for _, e := range out.Results {
		if e.Status == StatusSuccess && !e.DataOmitted {
			out.Summary.Omitted--
		}
	}
	return &out
}

func jsonLen(v any) int {
	raw, _ := json.Marshal(v)
	return len(raw)
}

// shortSize is Size without the space, for lists: "12.1K".
func shortSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%dB", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
}

// clipLine squeezes text into one line of at most n bytes.
func clipLine(s string, n int) string {
	return Clip(strings.Join(strings.Fields(s), " "), n)
}

// Clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Plural renders "1 account" or "3 accounts".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
