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

// serializedSize is the size of the tool result a client receives.
func serializedSize(t *testing.T, r *Rendered) int {
	t.Helper()
	content := []any{map[string]string{"type": "text", "text": r.Text}}
	for _, l := range r.Links {
		content = append(content, map[string]string{"type": "resource_link", "uri": l.URI, "name": l.Name, "description": l.Description, "mimeType": "text/plain"})
	}
	raw, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 12345, "result": map[string]any{
		"content": content, "structuredContent": r.Answer, "isError": false}})
	if err != nil {
		t.Fatal(err)
	}
	return len(raw)
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
	if len(r.Text) > DefaultBudget {
		t.Errorf("text is %d bytes, over the %d budget", len(r.Text), DefaultBudget)
	}
	if size := serializedSize(t, r); size > 3*DefaultBudget {
		t.Errorf("serialized result is %d bytes, over 3× the budget", size)
	}
	for _, e := range a.Results {
		if !strings.Contains(r.Text, e.AccountID) {
			t.Errorf("account %s (%s) is not named in the text", e.AccountID, e.Status)
		}
	}
	var empty []string
	for _, e := range a.Results {
		if e.Status == StatusSuccess && fakeaws.InstanceCount(e.AccountID) == 0 {
			empty = append(empty, e.AccountID)
		}
	}
	group := fmt.Sprintf("## %d accounts, identical answer: %s\n", len(empty), strings.Join(empty, ", "))
	if len(empty) < 2 || !strings.Contains(r.Text, group) {
		t.Errorf("the %d accounts without instances are not one group line %q", len(empty), group)
	}
	if !strings.Contains(r.Text, "- 6 accounts, access_denied: assume role arn:aws:iam::<account>:role/CentralOpsTargetRole") {
		t.Errorf("identical AccessDenied failures are not one line:\n%s", failedSection(r.Text))
	}
	if !strings.Contains(r.Text, "- 5 accounts, timeout: timed out after") {
		t.Errorf("timeouts differing only in duration are not one line:\n%s", failedSection(r.Text))
	}
	if !strings.Contains(r.Text, "Pending (still running; get_result shows them when they finish): "+accts[299].ID) {
		t.Errorf("the pending account is not listed")
	}
	if !strings.Contains(r.Text, `get_result {"result_id": "`+id+`", "account_id": "<id>"}`) || !strings.Contains(r.Text, `"jmespath": "Reservations[].Instances[].[InstanceId, State.Name, InstanceType]"`) {
		t.Errorf("the text does not say how to read what it left out:\n%.1500s", r.Text)
	}
	s := r.Answer.Summary
	if s.ResultID != id || s.Pending != 1 || s.Omitted == 0 || s.Omitted > s.Succeeded || len(r.Answer.Results) != 300 || s.Listed != 0 {
		t.Errorf("summary %+v with %d entries", s, len(r.Answer.Results))
	}
	omitted := 0
	for _, e := range r.Answer.Results {
		if e.DataOmitted {
			omitted++
			if e.Data != nil || e.Bytes == 0 {
				t.Errorf("omitted entry %+v", e)
			}
		}
	}
	if omitted != s.Omitted {
		t.Errorf("%d entries say data_omitted, the summary says %d", omitted, s.Omitted)
	}
	if len(r.Links) == 0 {
		t.Error("no resource links to the answers left out")
	}
}

func failedSection(text string) string {
	if i := strings.Index(text, "\nFailed:"); i >= 0 {
		return text[i:]
	}
	return text
}

// TestRenderNamesEveryAccountOf2000 checks the lists degrade (no sizes)
// rather than drop accounts when answers are many and large.
func TestRenderNamesEveryAccountOf2000(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "aws___call_aws"}
	for _, acct := range fakeaws.NumberedAccounts(2000) {
		a.Results = append(a.Results, Entry{AccountID: acct.ID, Name: acct.Name, Region: "us-east-1", Status: StatusSuccess,
			Data: textData(fakeaws.PayloadText(acct.ID, 16<<10))})
	}
	a.Count()
	r := Render(a, RenderOptions{Budget: DefaultBudget, ResultID: NewID()})
	if len(r.Text) > DefaultBudget {
		t.Errorf("text is %d bytes", len(r.Text))
	}
	for _, e := range a.Results {
		if !strings.Contains(r.Text, e.AccountID) {
			t.Fatalf("account %s is not named", e.AccountID)
		}
	}
	if size := serializedSize(t, r); size > 3*DefaultBudget {
		t.Errorf("serialized result is %d bytes", size)
	}
	if r.Answer.Summary.Listed == 0 || r.Answer.Summary.Listed >= 2000 || r.Answer.Summary.Omitted != 2000 {
		t.Errorf("summary %+v: want a shortened results list, every answer omitted", r.Answer.Summary)
	}
}

func TestRenderShowsEverythingThatFits(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "aws___call_aws", Results: []Entry{
		{AccountID: "222222222222", Name: "prod", Region: "us-east-1", Status: StatusSuccess, Data: textData("{\n    \"Buckets\": []\n}")},
		{AccountID: "333333333333", Name: "dev", Region: "us-east-1", Status: StatusSuccess, Data: textData(`plain text answer`)},
		{AccountID: "444444444444", Name: "ops", Region: "us-east-1", Status: StatusError, ErrorCode: "upstream", Error: "upstream answered HTTP 500"},
	}}
	a.Count()
	r := Render(a, RenderOptions{Budget: 4096})
	for _, want := range []string{"## 222222222222 prod\n{\"Buckets\":[]}\n", "## 333333333333 dev\nplain text answer\n",
		"- 444444444444 ops: upstream: upstream answered HTTP 500", "Every answer is shown (2 accounts)."} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text)
		}
	}
	if r.Answer.Summary.Omitted != 0 || r.Answer.Results[0].Data == nil || r.Answer.Results[1].Data == nil {
		t.Errorf("small answers left out of the structured content: %+v", r.Answer)
	}
}

func TestRenderWithoutStoreAdvisesNarrowing(t *testing.T) {
	t.Parallel()
	a := instancesAnswer(40, noFailures)
	r := Render(a, RenderOptions{Budget: 4096, NotKept: "no results bucket"})
	if !strings.Contains(r.Text, "cannot be read later (no results bucket): narrow the call") || strings.Contains(r.Text, "get_result") {
		t.Errorf("text:\n%s", r.Text)
	}
	if len(r.Links) != 0 {
		t.Error("links to answers that are not kept")
	}
}

func TestRenderStructuredOnlyFitsBudget(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "aws___call_aws"}
	for _, acct := range fakeaws.NumberedAccounts(1000) {
		a.Results = append(a.Results, Entry{AccountID: acct.ID, Name: acct.Name, Region: "us-east-1", Status: StatusSuccess,
			Data: textData(fakeaws.PayloadText(acct.ID, 8<<10))})
	}
	a.Count()
	r := Render(a, RenderOptions{Budget: DefaultLambdaBudget, StructuredOnly: true})
	raw, _ := json.Marshal(r.Answer)
	if len(raw) > DefaultLambdaBudget || r.Text != "" {
		t.Errorf("structured answer is %d bytes (text %d)", len(raw), len(r.Text))
	}
	if len(r.Answer.Results) != 1000 || r.Answer.Summary.Omitted == 0 || r.Answer.Summary.Omitted == 1000 {
		t.Errorf("want every account listed, some with data: %d entries, %d omitted", len(r.Answer.Results), r.Answer.Summary.Omitted)
	}
}

func TestRenderMultiRegionLabels(t *testing.T) {
	t.Parallel()
	a := &Answer{ToolName: "t"}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		a.Results = append(a.Results, Entry{AccountID: "222222222222", Name: "prod", Region: region, Status: StatusPending})
	}
	a.Count()
	r := Render(a, RenderOptions{Budget: 2048, ResultID: NewID()})
	if !strings.Contains(r.Text, "222222222222/us-east-1, 222222222222/eu-west-1") || !strings.Contains(r.Text, "2 pending") {
		t.Errorf("text:\n%s", r.Text)
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
