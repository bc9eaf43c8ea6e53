package results

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// instancesAnswer is a fan-out of describe-instances over n accounts, as
// the fake AWS MCP Server answers it, with the given failures.
func instancesAnswer(n int, fail func(i int) (code, msg string)) *Answer {
	a := &Answer{ToolName: "aws___call_aws"}
	for i, acct := range fakeaws.NumberedAccounts(n) {
		e := Entry{AccountID: acct.ID, Name: acct.Name, Region: "us-east-1", Status: StatusSuccess, DurationMS: int64(100 + i%7)}
		if code, msg := fail(i); code != "" {
			e.Status, e.ErrorCode, e.Error = StatusError, code, msg
			if code == "pending" {
				e.Status, e.ErrorCode, e.Error = StatusPending, "", ""
			}
		} else {
			e.Data = textData(fakeaws.DescribeInstances(acct.ID, "us-east-1"))
		}
		a.Results = append(a.Results, e)
	}
	a.Count()
	a.Summary.Accounts, a.Summary.Regions, a.Summary.Concurrency = n, 1, 16
	return a
}

func noFailures(int) (string, string) { return "", "" }

// rendered decodes a reply's JSON, checking it is the reply.
func rendered(t *testing.T, r *Rendered) Reply {
	t.Helper()
	var out Reply
	if err := json.Unmarshal(r.JSON, &out); err != nil {
		t.Fatalf("reply JSON: %v", err)
	}
	if string(Marshal(r.Reply)) != string(r.JSON) {
		t.Fatal("JSON is not the reply's encoding")
	}
	return out
}

// shown is what a client shows of a reply: a line per link, then its JSON.
func shown(r *Rendered) int {
	n := len(r.JSON)
	for _, l := range r.Links {
		n += linkCost(l)
	}
	return n
}

func groupOf(r Reply, account string) *Group {
	for i, g := range r.Groups {
		for _, a := range g.Accounts {
			if a == account {
				return &r.Groups[i]
			}
		}
	}
	return nil
}

func TestRenderFitsOrganizationScale(t *testing.T) {
	t.Parallel()
	denied := "assume role arn:aws:iam::%s:role/CentralOpsTargetRole: AccessDenied: User: arn:aws:iam::111111111111:user/central-ops is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::%s:role/CentralOpsTargetRole"
	accts := fakeaws.NumberedAccounts(300)
	a := instancesAnswer(300, func(i int) (string, string) {
		switch {
		case i%50 == 7:
			return "access_denied", fmt.Sprintf(denied, accts[i].ID, accts[i].ID)
		case i%60 == 11:
			return "timeout", fmt.Sprintf("timed out after %d.%ds (per-account timeout)", 5, i%10)
		case i == 299:
			return "pending", ""
		}
		return "", ""
	})
	id := NewID()
	r := Render(a, RenderOptions{Budget: DefaultBudget, ResultID: id, LinkURI: func(e Entry) string {
		return "awsmcp://results/" + id + "/" + e.AccountID + "/" + e.Region
	}})
	if n := shown(r); n > DefaultBudget {
		t.Errorf("a client shows %d bytes, over the %d budget", n, DefaultBudget)
	}
	reply := rendered(t, r)
	for _, e := range a.Results {
		if !strings.Contains(string(r.JSON), e.AccountID) {
			t.Errorf("account %s (%s) is not named", e.AccountID, e.Status)
		}
	}
	var empty []string
	for _, e := range a.Results {
		if e.Status == StatusSuccess && fakeaws.InstanceCount(e.AccountID) == 0 {
			empty = append(empty, e.AccountID)
		}
	}
	if g := groupOf(reply, empty[0]); len(empty) < 2 || g == nil || g.Count != len(empty) || g.Status != StatusSuccess {
		t.Errorf("the %d accounts without instances are not one group: %+v", len(empty), g)
	}
	if g := groupOf(reply, accts[7].ID); g == nil || g.Count != 6 || g.ErrorCode != "access_denied" {
		t.Errorf("identical AccessDenied failures are not one group: %+v", g)
	}
	if g := groupOf(reply, accts[11].ID); g == nil || g.Count != 5 || g.ErrorCode != "timeout" {
		t.Errorf("timeouts differing only in duration are not one group: %+v", g)
	}
	if strings.Count(string(r.JSON), "is not authorized to perform") != 1 {
		t.Errorf("the shared AccessDenied message is written %d times, want once", strings.Count(string(r.JSON), "is not authorized to perform"))
	}
	if !strings.Contains(reply.Note, `get_result {"result_id": "`+id+`", "account_id": "<id>"}`) || !strings.Contains(reply.Note, `"jmespath": "Reservations[].Instances[].[InstanceId, State.Name, InstanceType]"`) ||
		!strings.Contains(reply.Note, "1 target still running") {
		t.Errorf("the note does not say how to read what was left out: %s", reply.Note)
	}
	s := reply.Summary
	if s.ResultID != id || s.Pending != 1 || s.Omitted == 0 || s.Omitted > s.Succeeded || !strings.HasPrefix(string(r.JSON), `{"summary":{"text":"aws___call_aws: 288 of 300 succeeded`) {
		t.Errorf("summary %+v, reply starts %.80s", s, r.JSON)
	}
	if len(r.Links) > maxLinks {
		t.Errorf("%d resource links", len(r.Links))
	}
}

// TestRenderNamesEveryAccountOf2000 checks the reply degrades (no items,
// a list of names) rather than drop accounts when answers are many and
// large.
func TestRenderNamesEveryAccountOf2000(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "aws___call_aws"}
	for _, acct := range fakeaws.NumberedAccounts(2000) {
		a.Results = append(a.Results, Entry{AccountID: acct.ID, Name: acct.Name, Region: "us-east-1", Status: StatusSuccess,
			Data: textData(fakeaws.PayloadText(acct.ID, 16<<10))})
	}
	a.Count()
	r := Render(a, RenderOptions{Budget: DefaultBudget, ResultID: NewID()})
	if shown(r) > DefaultBudget {
		t.Errorf("reply is %d bytes", shown(r))
	}
	for _, e := range a.Results {
		if !strings.Contains(string(r.JSON), e.AccountID) {
			t.Fatalf("account %s is not named", e.AccountID)
		}
	}
	reply := rendered(t, r)
	if reply.Unlisted == nil || reply.Unlisted.Count != 2000 || reply.Summary.Omitted != 2000 {
		t.Errorf("summary %+v: want every account unlisted and every answer omitted", reply.Summary)
	}
}

func TestRenderShowsEverythingThatFits(t *testing.T) {
	t.Parallel()
	envelope := `{"status": "success", "return_value": {"Buckets": [{"Name": "a<b>"}]}, "api_calls": [{"service": "s3", "operation": "ListBuckets", "status": "success", "n_items": 1}]}`
	a := &Answer{ToolName: "aws___call_aws", Results: []Entry{
		{AccountID: "222222222222", Name: "prod", Region: "us-east-1", Status: StatusSuccess, Data: textData("{\n    \"Buckets\": []\n}")},
		{AccountID: "333333333333", Name: "dev", Region: "us-east-1", Status: StatusSuccess, Data: textData(`plain text answer`)},
		{AccountID: "444444444444", Name: "ops", Region: "us-east-1", Status: StatusError, ErrorCode: "upstream", Error: "upstream answered HTTP 500"},
		{AccountID: "555555555555", Name: "script", Region: "us-east-1", Status: StatusSuccess,
			Data: json.RawMessage(`{"content":[{"type":"text","text":` + string(jsonString(envelope)) + `}],"structuredContent":` + envelope + `}`)},
	}}
	a.Count()
	r := Render(a, RenderOptions{Budget: 4096})
	reply := rendered(t, r)
	want := []string{`{"Buckets":[]}`, `"plain text answer"`, `{"Buckets":[{"Name":"a<b>"}]}`}
	for i, w := range want {
		idx := []int{0, 1, 3}[i]
		if string(reply.Results[idx].Data) != w {
			t.Errorf("item %d data %s, want %s", idx, reply.Results[idx].Data, w)
		}
	}
	if it := reply.Results[2]; it.ErrorCode != "upstream" || it.Error != "upstream answered HTTP 500" {
		t.Errorf("failure item %+v", it)
	}
	if strings.Contains(string(r.JSON), "api_calls") || strings.Contains(string(r.JSON), "return_value") || !strings.Contains(reply.Note, "Every answer is shown (3 accounts") {
		t.Errorf("a script's envelope in the reply, or the note is wrong:\n%s", r.JSON)
	}
	if reply.Summary.Omitted != 0 {
		t.Errorf("small answers left out: %+v", reply.Summary)
	}
}

func TestRenderWritesAnAnswerSharedOnce(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "t"}
	for _, id := range []string{"222222222222", "333333333333", "444444444444"} {
		a.Results = append(a.Results, Entry{AccountID: id, Name: "n", Region: "us-east-1", Status: StatusSuccess, Data: textData(`{"Reservations": []}`)})
	}
	a.Count()
	reply := rendered(t, Render(a, RenderOptions{Budget: 4096}))
	if string(reply.Results[0].Data) != `{"Reservations":[]}` || reply.Results[1].SameAs != "222222222222" || reply.Results[2].SameAs != "222222222222" ||
		reply.Results[1].Data != nil || len(reply.Groups) != 1 || reply.Groups[0].Count != 3 {
		t.Errorf("reply %+v", reply)
	}
}

func TestRenderWithoutStoreAdvisesNarrowing(t *testing.T) {
	t.Parallel()
	a := instancesAnswer(40, noFailures)
	r := Render(a, RenderOptions{Budget: 4096, NotKept: "no results bucket"})
	reply := rendered(t, r)
	if !strings.Contains(reply.Note, "cannot be read later (no results bucket): narrow the call") || strings.Contains(string(r.JSON), "get_result") {
		t.Errorf("note: %s", reply.Note)
	}
	if len(r.Links) != 0 {
		t.Error("links to answers that are not kept")
	}
}

func TestRenderFitsTheLambdaBudget(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "aws___call_aws"}
	for _, acct := range fakeaws.NumberedAccounts(1000) {
		a.Results = append(a.Results, Entry{AccountID: acct.ID, Name: acct.Name, Region: "us-east-1", Status: StatusSuccess,
			Data: textData(fakeaws.PayloadText(acct.ID, 8<<10))})
	}
	a.Count()
	r := Render(a, RenderOptions{Budget: DefaultLambdaBudget})
	reply := rendered(t, r)
	if len(r.JSON) > DefaultLambdaBudget {
		t.Errorf("reply is %d bytes", len(r.JSON))
	}
	if len(reply.Results) != 1000 || reply.Summary.Omitted == 0 || reply.Summary.Omitted == 1000 {
		t.Errorf("want every account listed, some with data: %d items, %d omitted", len(reply.Results), reply.Summary.Omitted)
	}
}

func TestRenderMultiRegionLabels(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "t"}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		a.Results = append(a.Results, Entry{AccountID: "222222222222", Name: "prod", Region: region, Status: StatusError, ErrorCode: "timeout", Error: "timed out"})
	}
	a.Count()
	reply := rendered(t, Render(a, RenderOptions{Budget: 2048, ResultID: NewID()}))
	if g := reply.Groups; len(g) != 1 || strings.Join(g[0].Accounts, ",") != "222222222222/us-east-1,222222222222/eu-west-1" || reply.Results[1].SameAs != "222222222222/us-east-1" {
		t.Errorf("reply %+v", reply)
	}
}

func TestNormalizeError(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b string }{
		{"timed out after 1.1s", "timed out after 2s"},
		{"assume role arn:aws:iam::222222222222:role/X: AccessDenied (cached, retried after 10:05:01Z)", "assume role arn:aws:iam::333333333333:role/X: AccessDenied (cached, retried after 10:05:09Z)"},
	}
	ids := []string{"222222222222", "333333333333"}
	for _, tt := range tests {
		if normalizeError(tt.a, ids[0]) != normalizeError(tt.b, ids[1]) {
			t.Errorf("%q and %q do not group", tt.a, tt.b)
		}
	}
	if normalizeError("upstream answered HTTP 500", "x") == normalizeError("upstream answered HTTP 503", "x") {
		t.Error("different HTTP statuses group together")
	}
}

func TestClipCutsOnARuneBoundary(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: no half of it
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Clip(tt.s, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestRenderReadsBackBriefAnswersItShows: a fan-out that holds its answers
// brief, some released to the store, renders the same reply as one that
// holds them whole, reading back only answers it shows; an answer the
// store lost is left out, not shown.
func TestRenderReadsBackBriefAnswersItShows(t *testing.T) {
	t.Parallel()
	whole := instancesAnswer(40, noFailures)
	opts := RenderOptions{Budget: 12 << 10, ResultID: "r-x"}
	want := Render(whole, opts)
	if n := shown(want); n == 0 || want.Reply.Summary.Omitted == 0 {
		t.Fatalf("the reply should show some answers and leave some out")
	}
	for _, c := range []struct {
		name string
		lost int // index of an answer the store lost, -1 for none
	}{{"all kept", -1}, {"one lost", 1}} {
		t.Run(c.name, func(t *testing.T) {
			brief := *whole
			brief.Results = make([]Entry, len(whole.Results))
			for i, e := range whole.Results {
				brief.Results[i] = e.Brief(nil)
				if i == c.lost {
					brief.Results[i] = brief.Results[i].Unkept()
				}
				if i%2 == 1 { // every other answer only in the store
					brief.Results[i] = brief.Results[i].Release()
				}
			}
			loads := map[int]int{}
			brief.Load = func(i int) json.RawMessage {
				loads[i]++
				return whole.Results[i].Value()
			}
			got := Render(&brief, opts)
			reply := rendered(t, got)
			for i, n := range loads {
				if whole.Results[i].Status != StatusSuccess || n > 3 {
					t.Errorf("entry %d read back %d times", i, n)
				}
			}
			if c.lost < 0 {
				if string(got.JSON) != string(want.JSON) {
					t.Errorf("reply of brief entries differs:\n%s\nwant\n%s", got.JSON, want.JSON)
				}
				if len(loads) == 0 {
					t.Error("no answer was read back")
				}
				return
			}
			for _, it := range reply.Results {
				if it.AccountID == whole.Results[c.lost].AccountID && (it.Data != nil || !it.DataOmitted || it.ErrorCode != CodeNotKept) {
					t.Errorf("lost answer: %+v, want it left out and said not kept", it)
				}
			}
		})
	}
}
