//go:build !lambda

// Command aws-mcp-multi-account is an MCP stdio server that lets an AI agent
// query many AWS accounts at once through the AWS MCP Server, plus a
// troubleshooting CLI on the same binary.
package main

import (
	"context"
	"os"

	"github.com/centralops/aws-mcp-multi-account/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}
