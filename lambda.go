//go:build lambda

// Command bootstrap is the Lambda bridge: the same core as the stdio server,
// serving Amazon Bedrock AgentCore Gateway's Lambda-target contract. Build
// it with: GOOS=linux GOARCH=arm64 go build -tags lambda -o bootstrap .
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/bridge"
)

func main() {
	cfg, _, err := app.ParseConfig("bootstrap", nil, bridge.Env(os.Getenv), os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bootstrap: %v\n", err)
		os.Exit(2)
	}
	if err := bridge.Refuse(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bootstrap: %v\n", err)
		os.Exit(2)
	}
	log := app.NewLogger(os.Stderr, cfg)
	a, err := app.Build(context.Background(), cfg, log, app.Wiring{KeepNone: "no results bucket (AWS_MCP_RESULTS_BUCKET) is configured", EnvOnly: true})
	if err != nil {
		log.Error("cannot start the bridge", "error", err)
		os.Exit(2)
	}
	lambda.Start(bridge.New(a).Handle)
}
