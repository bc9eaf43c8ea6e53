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
)

func main() {
	getenv := lambdaEnv(os.Getenv)
	cfg, _, err := parseConfig("bootstrap", nil, getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bootstrap: %v\n", err)
		os.Exit(2)
	}
	log := newLogger(os.Stderr, cfg)
	a, err := build(context.Background(), cfg, log, wiring{keepNone: "no results bucket (AWS_MCP_RESULTS_BUCKET) is configured"})
	if err != nil {
		log.Error("cannot start the bridge", "error", err)
		os.Exit(2)
	}
	b, err := newBridge(a, getenv)
	if err != nil {
		log.Error("cannot start the bridge", "error", err)
		os.Exit(2)
	}
	lambda.Start(b.handle)
}
