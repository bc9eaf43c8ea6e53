package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// gatewaySchema prints the AgentCore Gateway inline tool schema of the
// tools, generated from the definitions the stdio server advertises.
func gatewaySchema(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var cfg config
	fs, envErr := newFlagSet(programName+" gateway-schema", &cfg, getenv, stderr)
	format := fs.String("format", "api", "api (create-gateway-target JSON) or cloudformation (GatewayTarget InlinePayload)")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := envErr(); err != nil {
		return fmt.Errorf("%w: %v", errConfig, err)
	}
	tools, err := proxy.GatewayTools(proxy.ToolDefinitions(serviceConfig(cfg, wiring{})))
	if err != nil {
		return err
	}
	var out any = tools
	switch *format {
	case "api":
	case "cloudformation":
		out = proxy.CloudFormation(tools)
	default:
		return fmt.Errorf("%w: format %q: want api or cloudformation", errConfig, *format)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
