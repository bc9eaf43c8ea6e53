package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// TestFanoutHoldsWhatItsReplyCanShow: a fan-out whose caller renders a
// reply of a known budget holds no more of its answers than such a reply
// could show, whatever its width; its reply shows the same answers as one
// holding every answer, and every answer it says is left out can be read
// from the store (an answer the store could not keep is said to be lost).
func TestFanoutHoldsWhatItsReplyCanShow(t *testing.T) {
	t.Parallel()
	const accounts, payload, budget = 60, 16 << 10, 40 << 10
	stack := fakeaws.Start(fakeaws.Options{Accounts: fakeaws.NumberedAccounts(accounts)})
	defer stack.Close()
	stack.MCP.SetPayload(payload)
	for _, storeBytes := range []int64{8 << 20, 256 << 10} {
		t.Run(fmt.Sprintf("store %d KiB", storeBytes>>10), func(t *testing.T) {
			store := results.NewMemory(storeBytes, time.Hour)
			defer store.Close()
			svc := scriptService(t, stack, Config{})
			svc.SetStore(store)
			req := QueryAllRequest{ToolName: RunScriptTool, Arguments: script("resp = await call_boto3(service_name='s3', operation_name='ListBuckets')\nresp")}
			whole, err := svc.QueryAll(context.Background(), req, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.ReplyBudget = budget
			held, err := svc.QueryAll(context.Background(), req, nil)
			if err != nil {
				t.Fatal(err)
			}
			if held.Summary.Succeeded != accounts {
				t.Fatalf("%+v", held.Summary)
			}
			bytes := 0
			for _, e := range held.Results {
				bytes += e.HeldBytes()
			}
			if bytes == 0 || bytes > holdFor(budget) {
				t.Errorf("the fan-out holds %d bytes of answers, want some and at most %d", bytes, holdFor(budget))
			}
			got, want := itemsOf(t, svc.AnswerResult(context.Background(), held, budget).StructuredContent), itemsOf(t, svc.AnswerResult(context.Background(), whole, budget).StructuredContent)
			index := map[string]int{}
			for i, e := range held.Results {
				index[e.AccountID] = i
			}
			lost := 0
			for i, it := range got {
				switch {
				case it.Data != nil:
					if storeBytes >= 8<<20 && want[i].Data == nil {
						t.Errorf("%s: shown here, not when every answer is held", it.AccountID)
					}
				case it.ErrorCode == results.CodeNotKept:
					lost++
				case it.DataOmitted:
					if _, err := store.Entry(context.Background(), "", held.Summary.ResultID, index[it.AccountID]); err != nil {
						t.Errorf("%s: left out, and get_result cannot read it: %v", it.AccountID, err)
					}
				default:
					t.Errorf("%s: %+v", it.AccountID, it)
				}
				if storeBytes >= 8<<20 && (it.Data != nil) != (want[i].Data != nil) {
					t.Errorf("%s: data %v, want %v", it.AccountID, it.Data != nil, want[i].Data != nil)
				}
			}
			if storeBytes >= 8<<20 && lost > 0 || storeBytes < 8<<20 && lost == 0 {
				t.Errorf("%d answers said lost with a %d KiB store", lost, storeBytes>>10)
			}
		})
	}
}

// itemsOf decodes the items of a reply.
func itemsOf(t *testing.T, structured any) []results.Item {
	t.Helper()
	var reply results.Reply
	if err := json.Unmarshal(structured.(json.RawMessage), &reply); err != nil {
		t.Fatal(err)
	}
	return reply.Results
}
