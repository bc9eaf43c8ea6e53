package infrastructure

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/centralops/aws-mcp-multi-account/proxy"
)

// update rewrites the generated InlinePayload of gateway.yaml:
//
//	go test ./examples/infrastructure -run TestGatewayInlinePayload -update
var update = flag.Bool("update", false, "rewrite the generated InlinePayload in gateway.yaml")

// Markers around the generated lines of gateway.yaml.
const (
	beginGenerated = "# BEGIN GENERATED"
	endGenerated   = "# END GENERATED"
)

// payloadPath is where the tool schema sits in the gateway target.
var payloadPath = []string{"Properties", "TargetConfiguration", "Mcp", "Lambda", "ToolSchema", "InlinePayload"}

// TestGatewayInlinePayload checks that the tool schema embedded in
// gateway.yaml is exactly what the tool definitions generate, so the gateway
// never advertises tools the Lambda does not serve. On a mismatch it prints
// the YAML to paste in place of the old payload.
func TestGatewayInlinePayload(t *testing.T) {
	t.Parallel()
	tools, err := proxy.GatewayTools(proxy.ToolDefinitions(proxy.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	want, err := normalizeJSON(proxy.CloudFormation(tools))
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	key, payload, err := inlinePayload(data)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := payload.Decode(&decoded); err != nil {
		t.Fatalf("gateway.yaml: decode InlinePayload: %v", err)
	}
	got, err := normalizeJSON(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if !*update {
		t.Fatalf("gateway.yaml: the InlinePayload (line %d) differs from `go run . gateway-schema --format cloudformation`.\n"+
			"got:  %s\nwant: %s\nRegenerate it with: go test ./examples/infrastructure -run TestGatewayInlinePayload -update",
			key.Line, got, want)
	}
	block, err := payloadYAML(proxy.CloudFormation(tools), key.Column+1)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := replaceGenerated(data, strings.Repeat(" ", key.Column-1)+"InlinePayload:\n"+block+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("gateway.yaml", updated, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("gateway.yaml: InlinePayload rewritten")
}

// replaceGenerated replaces the lines between the BEGIN and END GENERATED
// marker lines of data with text.
func replaceGenerated(data []byte, text string) ([]byte, error) {
	begin := bytes.Index(data, []byte(beginGenerated))
	end := bytes.Index(data, []byte(endGenerated))
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("gateway.yaml: no %q ... %q lines around the InlinePayload", beginGenerated, endGenerated)
	}
	afterBegin := begin + bytes.IndexByte(data[begin:], '\n') + 1
	endLine := bytes.LastIndexByte(data[:end], '\n') + 1
	var out bytes.Buffer
	out.Write(data[:afterBegin])
	out.WriteString(text)
	out.Write(data[endLine:])
	return out.Bytes(), nil
}

// inlinePayload finds the InlinePayload key and value of the template's
// only AWS::BedrockAgentCore::GatewayTarget.
func inlinePayload(data []byte) (key, value *yaml.Node, err error) {
	root, err := parseTemplate(data)
	if err != nil {
		return nil, nil, err
	}
	var schemas []*yaml.Node
	resources := mappingValue(root, "Resources")
	for i := 0; resources != nil && i < len(resources.Content); i += 2 {
		res := resources.Content[i+1]
		// The Lambda target carries the schema; a target fronting the team
		// server on AgentCore Runtime lists its tools itself.
		if t := mappingValue(res, "Type"); t != nil && t.Value == "AWS::BedrockAgentCore::GatewayTarget" &&
			lookupPath(res, "Properties", "TargetConfiguration", "Http") == nil {
			schemas = append(schemas, lookupPath(res, payloadPath[:len(payloadPath)-1]...))
		}
	}
	if len(schemas) == 1 && schemas[0] != nil && schemas[0].Kind == yaml.MappingNode {
		for i := 0; i < len(schemas[0].Content); i += 2 {
			if k := schemas[0].Content[i]; k.Value == payloadPath[len(payloadPath)-1] {
				return k, schemas[0].Content[i+1], nil
			}
		}
	}
	return nil, nil, fmt.Errorf("gateway.yaml: want one Lambda GatewayTarget with %s, found %d targets",
		strings.Join(payloadPath, "."), len(schemas))
}

// normalizeJSON encodes v as compact JSON with sorted object keys, so two
// values compare equal exactly when their JSON does.
func normalizeJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return json.Marshal(generic)
}

// payloadYAML renders the payload as a YAML block indented by indent spaces,
// the way gateway.yaml embeds it.
func payloadYAML(v any, indent int) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return "", fmt.Errorf("decode payload: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return "", fmt.Errorf("render payload: %w", err)
	}
	pad := strings.Repeat(" ", indent)
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n"), nil
}
