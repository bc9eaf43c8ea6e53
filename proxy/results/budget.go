package results

import (
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

// RenderOptions say how to fit an Answer into a reply.
type RenderOptions struct {
	// Budget bounds what a client shows the model of the reply, in bytes:
	// its JSON and a line per resource link (DefaultBudget when 0).
	Budget int
	// ResultID names the stored result; "" when the answers are not kept.
	ResultID string
	// NotKept says, when ResultID is "", why omitted data cannot be read
	// later; the note then advises narrowing the call.
	NotKept string
	// LinkURI returns the resource URI of an entry's stored answer; nil
	// means no resource links.
	LinkURI func(Entry) string
	// BudgetMax is the ceiling of a call's max_bytes, named in the note
	// when answers are left out (0: not named).
	BudgetMax int
}

// maxLinks bounds the resource links of a reply. Claude Code writes each
// as a line before the answer (so a cut preview would start with links,
// not the summary), and get_result reads everything a link could: one
// link, to the first answer left out, for clients that let a person open
// it.
const maxLinks = 1

// Link is a resource_link to one stored answer, with the MIME type and
// size of what resources/read returns.
type Link struct {
	URI, Name, Description, MIMEType string
	Size                             int
}

// Rendered is an Answer fitted to a budget.
type Rendered struct {
	// Reply is the structured answer; JSON is its encoding, the text of
	// the tool result.
	Reply *Reply
	JSON  []byte
	// Links are resource links to stored answers the reply leaves out.
	Links []Link
}

// Render fits a fan-out's answer into the budget. Items keep the entries'
// order; identical answers and identical failures are written once.
func Render(a *Answer, opts RenderOptions) *Rendered {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	l := newLayout(a, opts)
	for l.level = 0; l.level < levelCut; l.level++ {
		if l.size(l.build()) <= opts.Budget {
			break
		}
	}
	if l.level <= levelCompact {
		l.choose()
		// Where answers are left out, compact items may make room for more.
		if l.level == levelFull && l.omitted() > 0 {
			full := l.shown()
			l.level = levelCompact
			l.choose()
			if l.shown() <= full {
				l.level = levelFull
				l.choose()
			}
		}
	}
	reply := l.build()
	if l.level == levelCut {
		l.fitLists(reply)
	}
	return &Rendered{Reply: reply, JSON: Marshal(reply), Links: l.links()}
}

// Levels of detail of a reply, tried in order until one fits.
const (
	// levelFull: items with name, region and duration.
	levelFull = iota
	// levelCompact: items with the account id and the outcome only.
	levelCompact
	// levelUnlisted: no answers; successful accounts named in Unlisted.
	levelUnlisted
	// levelCut, the last: as levelUnlisted, with long lists cut short.
	levelCut
)

// view is what the layout knows of one entry.
type view struct {
	label string
	// full is the size of the answer (Entry.Value).
	full  int
	unit  *unit
	group *errorGroup
}

// unit is a shown-or-omitted answer: one account's, or several accounts'
// identical answer. value is held only while the unit is shown; lost says
// its value could not be read back (the store did not keep it).
type unit struct {
	members []int
	value   json.RawMessage
	size    int
	shown   bool
	lost    bool
	// unkept: the store kept the answer of none of the members, so a
	// reply that leaves it out cannot point to get_result.
	unkept bool
	// hint is the projection suggested for the answer, once worked out.
	hint   string
	hinted bool
}

// show marks a unit shown (taking its value) or not (letting it go), and
// reports whether it is shown: an answer that cannot be read back is not.
func (l *layout) show(u *unit, shown bool) bool {
	u.value = nil
	if shown {
		u.value = l.value(u)
	}
	u.shown = u.value != nil
	return u.shown
}

// value is a unit's answer: from the first member that holds it (a brief
// entry may hold none), else read back from the result store.
func (l *layout) value(u *unit) json.RawMessage {
	if u.lost {
		return nil
	}
	for _, m := range u.members {
		if v := l.a.Results[m].Value(); v != nil {
			return v
		}
	}
	if l.a.Load != nil && !u.unkept {
		if v := l.a.Load(u.members[0]); v != nil {
			return v
		}
	}
	u.lost = true
	return nil
}

// errorGroup is one error (or reason to skip) several accounts share.
type errorGroup struct {
	status, code, message string
	members               []int
}

// layout decides what the reply shows.
type layout struct {
	a      *Answer
	opts   RenderOptions
	views  []view
	units  []*unit
	errors []*errorGroup
	multi  bool
	level  int
}

func newLayout(a *Answer, opts RenderOptions) *layout {
	l := &layout{a: a, opts: opts, views: make([]view, len(a.Results))}
	regions := map[string]bool{}
	for _, e := range a.Results {
		regions[e.Region] = true
	}
	l.multi = len(regions) > 1
	byKey := map[[sha256.Size]byte]*unit{}
	errByKey := map[string]*errorGroup{}
	for i, e := range a.Results {
		v := &l.views[i]
		v.label = e.AccountID
		if l.multi {
			v.label += "/" + e.Region
		}
		switch {
		case e.Status == StatusSuccess && (e.hasData() || e.measured):
			// Only a hash and a size are kept of each answer: the values
			// of the answers shown are taken again when they are chosen,
			// so rendering holds no copy of every answer.
			key := e.digest
			v.full = e.size
			if !e.measured {
				value := e.Value()
				v.full, key = len(value), sha256.Sum256(value)
			}
			if u := byKey[key]; u != nil {
				u.members = append(u.members, i)
				u.unkept = u.unkept && e.unkept
				v.unit = u
				continue
			}
			u := &unit{members: []int{i}, size: v.full, unkept: e.unkept}
			byKey[key], v.unit = u, u
			l.units = append(l.units, u)
		case e.Status == StatusPending:
		default:
			msg, code := e.Error, e.ErrorCode
			if e.Status == StatusSuccess {
				msg, code = notKeptMessage, CodeNotKept
			}
			key := e.Status + "\x00" + code + "\x00" + normalizeError(msg, e.AccountID)
			if g := errByKey[key]; g != nil {
				g.members = append(g.members, i)
				v.group = g
				continue
			}
			g := &errorGroup{status: e.Status, code: code, message: msg, members: []int{i}}
			errByKey[key], v.group = g, g
			l.errors = append(l.errors, g)
		}
	}
	for _, g := range l.errors {
		if len(g.members) > 1 {
			g.message = strings.ReplaceAll(g.message, a.Results[g.members[0]].AccountID, "<account>")
		}
	}
	return l
}

// notKeptMessage is what a reply of a stored result says of a successful
// answer whose data the store could not keep.
const notKeptMessage = "the answer was not kept: the result store was full (the result-store-bytes setting); run the query again, narrower, to read it"

// normalizeError is the grouping key of a failure: the message with the
// account id, durations and clock times taken out.
func normalizeError(msg, accountID string) string {
	msg = strings.ReplaceAll(msg, accountID, "<account>")
	msg = durationPattern.ReplaceAllString(msg, "<d>")
	return clockPattern.ReplaceAllString(msg, "<t>")
}

var (
	durationPattern = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)\b`)
	clockPattern    = regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}(\.\d+)?Z?\b`)
)

// size is what a client shows of a reply: its JSON and a line per link.
func (l *layout) size(r *Reply) int {
	n := len(Marshal(r))
	for _, link := range l.links() {
		n += linkCost(link)
	}
	return n
}

// shown and omitted count the targets whose answer the reply shows or
// leaves out.
func (l *layout) shown() int {
	n := 0
	for _, u := range l.units {
		if u.shown {
			n += len(u.members)
		}
	}
	return n
}

func (l *layout) omitted() int {
	n := 0
	for _, u := range l.units {
		if !u.shown {
			n += len(u.members)
		}
	}
	return n
}

// choose marks which answers the reply shows: groups first (largest
// first), then single answers in account order, while the budget lasts.
func (l *layout) choose() {
	for _, u := range l.units {
		l.show(u, false)
	}
	order := make([]*unit, len(l.units))
	copy(order, l.units)
	sort.SliceStable(order, func(i, j int) bool { return len(order[i].members) > len(order[j].members) })
	const slack = 160 // the note's numbers and the links change as answers are shown
	used := l.size(l.build())
	var shown []*unit
	for _, u := range order {
		if u.size > l.opts.Budget-used {
			continue
		}
		first := u.members[0]
		before := len(Marshal(l.item(first)))
		if !l.show(u, true) {
			continue
		}
		delta := len(Marshal(l.item(first))) - before
		if used+delta+slack > l.opts.Budget {
			l.show(u, false)
			continue
		}
		used += delta
		shown = append(shown, u)
	}
	// The arithmetic is exact but for the note and the links; undo the
	// last shown answers while the reply is too long.
	for len(shown) > 0 && l.size(l.build()) > l.opts.Budget {
		l.show(shown[len(shown)-1], false)
		shown = shown[:len(shown)-1]
	}
}

// build writes the reply at the layout's level with the answers chosen.
func (l *layout) build() *Reply {
	a := l.a
	r := &Reply{Warnings: clipAll(a.Warnings, 300), Results: make([]Item, 0, len(a.Results))}
	r.Summary.ToolName, r.Summary.JMESPath, r.Summary.Summary = a.ToolName, a.JMESPath, a.Summary
	r.Summary.ResultID = l.opts.ResultID
	if !l.multi && len(a.Results) > 0 {
		r.Summary.Region = a.Results[0].Region
	}
	var unlisted []string
	for i, e := range a.Results {
		v := l.views[i]
		if l.level >= levelUnlisted && e.Status == StatusSuccess && (v.unit == nil || !v.unit.shown) {
			unlisted = append(unlisted, v.label)
			continue
		}
		r.Results = append(r.Results, l.item(i))
	}
	for _, u := range l.units {
		if len(u.members) > 1 {
			r.Groups = append(r.Groups, Group{Status: StatusSuccess, Count: len(u.members), Accounts: l.labels(u.members)})
		}
	}
	for _, g := range l.errors {
		if len(g.members) > 1 {
			r.Groups = append(r.Groups, Group{Status: g.status, ErrorCode: g.code, Count: len(g.members), Accounts: l.labels(g.members)})
		}
	}
	if len(unlisted) > 0 {
		r.Unlisted = &Unlisted{Count: len(unlisted), Accounts: unlisted}
		r.Summary.Listed = len(r.Results)
	}
	r.Summary.Omitted = 0
	for _, e := range a.Results {
		if e.Status == StatusSuccess {
			r.Summary.Omitted++
		}
	}
	for _, u := range l.units {
		if u.shown {
			r.Summary.Omitted -= len(u.members)
		}
	}
	r.Summary.Text = l.summaryLine()
	r.Note = l.note(r)
	return r
}

// item is entry i as the reply lists it.
func (l *layout) item(i int) Item {
	e, v := l.a.Results[i], l.views[i]
	it := Item{AccountID: e.AccountID, Status: e.Status}
	if l.level == levelFull {
		d := e.DurationMS
		it.Name, it.Region, it.DurationMS = e.Name, e.Region, &d
	} else if l.multi {
		it.Region = e.Region
	}
	switch {
	case v.unit != nil && v.unit.members[0] != i:
		it.SameAs = l.views[v.unit.members[0]].label
	case v.unit != nil && v.unit.shown:
		it.Data = v.unit.value
	case v.unit != nil:
		it.DataOmitted, it.Bytes = true, v.full
		if v.unit.unkept {
			it.ErrorCode = CodeNotKept // the note says what it means
		}
	case v.group != nil:
		it.ErrorCode = v.group.code
		if it.ErrorCode == "" && e.Status == StatusError {
			it.ErrorCode = "error"
		}
		if first := v.group.members[0]; first != i {
			it.SameAs = l.views[first].label
		} else {
			it.Error = clipLine(v.group.message, 400)
		}
	}
	return it
}

func (l *layout) labels(members []int) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = l.views[m].label
	}
	return out
}

// fitLists cuts the reply's account lists (groups first, then the
// unlisted accounts) and, if need be, its items, until it fits.
func (l *layout) fitLists(r *Reply) {
	const groupNames = 10
	for i := range r.Groups {
		if g := &r.Groups[i]; len(g.Accounts) > groupNames {
			g.More, g.Accounts = len(g.Accounts)-groupNames, g.Accounts[:groupNames]
		}
	}
	// Items of failures beyond the room join the unlisted accounts.
	if r.Unlisted == nil {
		r.Unlisted = &Unlisted{}
	}
	for len(r.Results) > 0 && l.size(r) > l.opts.Budget*3/4 {
		n := len(r.Results) - 1
		r.Unlisted.Accounts = append(r.Unlisted.Accounts, l.itemLabel(r.Results[n]))
		r.Results = r.Results[:n]
	}
	r.Unlisted.Count = len(r.Unlisted.Accounts)
	r.Summary.Listed = len(r.Results)
	names := r.Unlisted.Accounts
	r.Unlisted.Accounts = nil
	r.Note = l.note(r)
	room := l.opts.Budget - l.size(r) - 64
	for _, name := range names {
		if room < len(name)+3 {
			break
		}
		r.Unlisted.Accounts = append(r.Unlisted.Accounts, name)
		room -= len(name) + 3
	}
	r.Unlisted.More = len(names) - len(r.Unlisted.Accounts)
	if r.Unlisted.Count == 0 {
		r.Unlisted = nil
	}
	r.Note = l.note(r)
}

// itemLabel is the label of an item, as views name it.
func (l *layout) itemLabel(it Item) string {
	if l.multi {
		return it.AccountID + "/" + it.Region
	}
	return it.AccountID
}

// summaryLine is the summary in one line.
func (l *layout) summaryLine() string {
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
	return b.String()
}

// note says what the reply shows, what it leaves out and how to read it.
func (l *layout) note(r *Reply) string {
	parts := append([]string(nil), l.a.Advice...)
	shownAnswers, shownAccounts, omittedAnswers, omittedBytes, unkept := 0, 0, 0, 0, 0
	for _, u := range l.units {
		switch {
		case u.shown:
			shownAnswers++
			shownAccounts += len(u.members)
		case u.unkept:
			unkept += len(u.members)
			fallthrough
		default:
			omittedAnswers += len(u.members)
			omittedBytes += u.size * len(u.members)
		}
	}
	id := l.opts.ResultID
	switch {
	case omittedAnswers == 0 && shownAnswers > 0:
		parts = append(parts, fmt.Sprintf("Every answer is shown (%s, %s).", Plural(shownAccounts, "account"), Plural(shownAnswers, "distinct answer")))
	case omittedAnswers > 0:
		parts = append(parts, fmt.Sprintf("Answers shown: %d of %s (%s). Left out to fit the %s budget: %s, %s in all (data_omitted).",
			shownAccounts, Plural(shownAccounts+omittedAnswers, "successful target"), Plural(shownAnswers, "distinct answer"),
			Size(l.opts.Budget), Plural(omittedAnswers, "answer"), Size(omittedBytes)))
		hint := l.hint()
		if id != "" {
			parts = append(parts, fmt.Sprintf("Read one with get_result {\"result_id\": %q, \"account_id\": \"<id>\"%s}, or re-project every answer without calling AWS again with get_result {\"result_id\": %q, \"jmespath\": %q}.",
				id, l.regionArg(), id, hint))
		} else {
			why := l.opts.NotKept
			if why == "" {
				why = "the answers are not kept"
			}
			parts = append(parts, fmt.Sprintf("They cannot be read later (%s): narrow the call with a jmespath (e.g. %q), or the accounts, tags and ou selectors.", why, hint))
		}
		if unkept > 0 {
			parts = append(parts, fmt.Sprintf("%d of them did not fit the result store (the result-store-bytes setting) and cannot be read later (error_code %s).", unkept, CodeNotKept))
		}
		if l.opts.BudgetMax > l.opts.Budget {
			parts = append(parts, fmt.Sprintf("max_bytes (up to %s) asks for a larger answer.", Size(l.opts.BudgetMax)))
		}
	}
	if len(r.Groups) > 0 {
		parts = append(parts, "Groups name the accounts that share one answer or one error: the first holds it, the others say same_as.")
	}
	if s := r.Summary; s.Pending > 0 {
		msg := fmt.Sprintf("%s still running (status pending)", Plural(s.Pending, "target"))
		if id != "" {
			msg += fmt.Sprintf("; get_result {\"result_id\": %q} shows them when they finish", id)
		}
		parts = append(parts, msg+".")
	}
	if u := r.Unlisted; u != nil {
		msg := fmt.Sprintf("%s have no item in results, to fit the budget; unlisted names them", Plural(u.Count, "account"))
		if u.More > 0 {
			msg += fmt.Sprintf(" (%d not even there)", u.More)
		}
		if id != "" {
			msg += fmt.Sprintf("; get_result {\"result_id\": %q, \"max_bytes\": …} lists every one", id)
		}
		parts = append(parts, msg+".")
	}
	return strings.Join(parts, " ")
}

// regionArg is the region argument get_result needs to read one answer of
// a reply over several regions.
func (l *layout) regionArg() string {
	if l.multi {
		return `, "region": "<region>"`
	}
	return ""
}

// hint suggests a projection for the first omitted JSON answer.
func (l *layout) hint() string {
	tries := 0
	for _, u := range l.units {
		if u.shown || u.lost {
			continue
		}
		if !u.hinted {
			u.hinted = true
			var v any
			if gojson.Unmarshal(l.value(u), &v) == nil {
				u.hint = suggest(v)
			}
		}
		if u.hint != "" {
			return u.hint
		}
		if tries++; tries == maxHintTries {
			break
		}
	}
	return "Reservations[].Instances[].[InstanceId, State.Name]"
}

// maxHintTries bounds the omitted answers read to suggest a projection.
const maxHintTries = 3

// links returns resource links to the first answers the reply leaves out,
// at most maxLinks.
func (l *layout) links() []Link {
	if l.opts.LinkURI == nil || l.opts.ResultID == "" {
		return nil
	}
	var out []Link
	for _, u := range l.units {
		if u.shown || u.unkept {
			continue
		}
		e := l.a.Results[u.members[0]]
		out = append(out, Link{
			URI:         l.opts.LinkURI(e),
			Name:        e.AccountID + " " + e.Region,
			Description: fmt.Sprintf("Answer of %s (%s) in %s", e.Name, e.AccountID, e.Region),
			MIMEType:    "application/json",
			Size:        u.size,
		})
		if len(out) == maxLinks {
			break
		}
	}
	return out
}

// linkCost is what a client shows of a link: Claude Code writes a line
// "[Resource link: name] uri (description)" before the answer.
func linkCost(link Link) int {
	return len("[Resource link: ] () \n") + len(link.Name) + len(link.URI) + len(link.Description)
}

func clipAll(lines []string, n int) []string {
	if len(lines) == 0 {
		return nil
	}
	out := make([]string, len(lines))
	for i, s := range lines {
		out[i] = clipLine(s, n)
	}
	return out
}

// clipLine squeezes text into one line of at most n bytes.
func clipLine(s string, n int) string {
	return Clip(strings.Join(strings.Fields(s), " "), n)
}

// Clip cuts s to at most n bytes, on a rune boundary, and marks the cut
// with "…" (3 bytes more): at most n+3 bytes in all.
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
