package cli

import (
	"context"
	"fmt"

	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/buildinfo"
	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// gatewaySchema prints the AgentCore Gateway inline tool schema of the
// tools, generated from the definitions the stdio server advertises.
func gatewaySchemaCmd(_ context.Context, args []string, env cliEnv) error {
	var cfg app.Config
	fs, envErr := app.NewFlagSet(buildinfo.Program+" gateway-schema", &cfg, env.getenv, env.stderr)
	usageOf("gateway-schema", fs)
	format := fs.String("format", "api", "api (create-gateway-target JSON) or cloudformation (GatewayTarget InlinePayload)")
	if err := app.ParseFlags(fs, args, envErr); err != nil {
		return err
	}
	tools, err := proxy.GatewayTools(proxy.ToolDefinitions(app.ServiceConfig(cfg, app.Wiring{EnvOnly: true})))
	if err != nil {
		return err
	}
	var out any = tools
	switch *format {
	case "api":
	case "cloudformation":
		out = proxy.CloudFormation(tools)
	default:
		return fmt.Errorf("%w: format %q: want api or cloudformation", app.ErrConfig, *format)
	}
	return writeJSON(env.stdout, out)
}
