package proxy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// GatewayTool is one tool of an Amazon Bedrock AgentCore Gateway Lambda
// target's inline tool schema (the create-gateway-target API shape).
type GatewayTool struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	InputSchema GatewaySchema `json:"inputSchema"`
}

// GatewaySchema is the JSON Schema subset the gateway accepts: type,
// description, properties, required and items, nothing else.
type GatewaySchema struct {
	Type        string                   `json:"type"`
	Description string                   `json:"description,omitempty"`
	Properties  map[string]GatewaySchema `json:"properties,omitempty"`
	Required    []string                 `json:"required,omitempty"`
	Items       *GatewaySchema           `json:"items,omitempty"`
}

// GatewayTools reduces the tools' input schemas to the gateway's subset.
// Constraints the gateway cannot express (pattern, enum, additional
// properties) are kept as words in the description, so the agent still
// learns them.
func GatewayTools(tools []mcp.Tool) ([]GatewayTool, error) {
	out := make([]GatewayTool, 0, len(tools))
	for _, t := range tools {
		raw, err := inputSchemaJSON(t)
		if err != nil {
			return nil, err
		}
		var node map[string]any
		if err := json.Unmarshal(raw, &node); err != nil {
			return nil, fmt.Errorf("tool %s: input schema: %w", t.Name, err)
		}
		schema, err := reduceSchema(node)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		out = append(out, GatewayTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return out, nil
}

func inputSchemaJSON(t mcp.Tool) (json.RawMessage, error) {
	if t.RawInputSchema != nil {
		return t.RawInputSchema, nil
	}
	raw, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", t.Name, err)
	}
	return raw, nil
}

func reduceSchema(node map[string]any) (GatewaySchema, error) {
	typ, _ := node["type"].(string)
	if typ == "" {
		return GatewaySchema{}, fmt.Errorf("schema without a single type: %v", node)
	}
	s := GatewaySchema{Type: typ}
	desc, _ := node["description"].(string)
	var notes []string
	if p, ok := node["pattern"].(string); ok {
		notes = append(notes, "must match "+p)
	}
	if e, ok := node["enum"].([]any); ok {
		notes = append(notes, fmt.Sprintf("one of %v", e))
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		if apType, _ := ap["type"].(string); apType != "" {
			notes = append(notes, "values are "+apType+"s")
		}
	}
	if len(notes) > 0 {
		desc = strings.TrimSpace(desc + " (" + strings.Join(notes, "; ") + ")")
	}
	s.Description = desc
	if props, ok := node["properties"].(map[string]any); ok && len(props) > 0 {
		s.Properties = make(map[string]GatewaySchema, len(props))
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			child, ok := props[name].(map[string]any)
			if !ok {
				return GatewaySchema{}, fmt.Errorf("property %s: not a schema", name)
			}
			reduced, err := reduceSchema(child)
			if err != nil {
				return GatewaySchema{}, fmt.Errorf("property %s: %w", name, err)
			}
			s.Properties[name] = reduced
		}
	}
	if req, ok := node["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		reduced, err := reduceSchema(items)
		if err != nil {
			return GatewaySchema{}, fmt.Errorf("items: %w", err)
		}
		s.Items = &reduced
	}
	return s, nil
}

// CloudFormation renders the tools in the PascalCase shape of
// AWS::BedrockAgentCore::GatewayTarget's ToolSchema.InlinePayload.
func CloudFormation(tools []GatewayTool) []map[string]any {
	out := make([]map[string]any, len(tools))
	for i, t := range tools {
		out[i] = map[string]any{"Name": t.Name, "Description": t.Description, "InputSchema": cfnSchema(t.InputSchema)}
	}
	return out
}

func cfnSchema(s GatewaySchema) map[string]any {
	m := map[string]any{"Type": s.Type}
	if s.Description != "" {
		m["Description"] = s.Description
	}
	if len(s.Properties) > 0 {
		props := make(map[string]any, len(s.Properties))
		for k, v := range s.Properties {
			props[k] = cfnSchema(v)
		}
		m["Properties"] = props
	}
	if len(s.Required) > 0 {
		m["Required"] = s.Required
	}
	if s.Items != nil {
		m["Items"] = cfnSchema(*s.Items)
	}
	return m
}
