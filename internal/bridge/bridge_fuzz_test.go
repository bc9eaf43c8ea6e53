package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// deniedCredentials fails every account at once, so fuzzing needs no network.
type deniedCredentials struct{}

func (deniedCredentials) For(context.Context, accounts.Account, proxy.SessionPolicy) (aws.CredentialsProvider, string, error) {
	return nil, "", errors.New("no credentials in the fuzz test")
}
func (deniedCredentials) SessionName(context.Context, accounts.Account) string { return "fuzz" }

// FuzzGatewayInvocation feeds arbitrary events and client contexts to the
// Lambda handler: it must not panic, and it answers or errors cleanly.
func FuzzGatewayInvocation(f *testing.F) {
	f.Add([]byte(`{"tool_name":"aws___call_aws","arguments":{"cli_command":"aws s3 ls"}}`), []byte(`{"custom":{"bedrockAgentCoreToolName":"t___query_all"}}`))
	f.Add([]byte(`{"account_id":"222222222222","tool_name":"x"}`), []byte(`{"custom":{"bedrockAgentCoreToolName":"t___query"}}`))
	f.Add([]byte(`{"body":"{\"action\":\"query_all\",\"tool_name\":\"aws___list_regions\"}"}`), []byte(`{}`))
	f.Add([]byte(`{"body":{"action":"list_accounts"}}`), []byte(`null`))
	f.Add([]byte(`[]`), []byte(`{"custom":{"bedrockAgentCoreToolName":"___"}}`))
	f.Add([]byte(`{}`), []byte(`{"custom":{"bedrockAgentCoreToolName":{"nested":1}}}`))

	dir, _ := accounts.NewDirectory(nil, accounts.Static{{ID: "222222222222", Name: "a", Source: accounts.SourceEnv}})
	pool, _ := upstream.NewPool(upstream.Options{Endpoint: "http://127.0.0.1:1/mcp", SigningRegion: "us-east-1"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &Bridge{svc: proxy.New(proxy.Config{Timeout: time.Second}, dir, deniedCredentials{}, pool, log), log: log, budget: time.Second, margin: 10 * time.Millisecond}

	f.Fuzz(func(t *testing.T, event, clientContext []byte) {
		var cc lambdacontext.ClientContext
		if json.Unmarshal(clientContext, &cc) != nil {
			return
		}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "fuzz", ClientContext: cc})
		out, err := b.Handle(ctx, event)
		if err == nil {
			if _, merr := json.Marshal(out); merr != nil {
				t.Fatalf("answer does not encode: %v", merr)
			}
		}
	})
}
