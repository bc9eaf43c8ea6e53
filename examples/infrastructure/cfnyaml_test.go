package infrastructure

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shortForms maps CloudFormation's YAML short-form tags to the long-form
// function names they stand for.
var shortForms = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!Sub":         "Fn::Sub",
	"!GetAtt":      "Fn::GetAtt",
	"!If":          "Fn::If",
	"!Equals":      "Fn::Equals",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!Join":        "Fn::Join",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!FindInMap":   "Fn::FindInMap",
	"!ImportValue": "Fn::ImportValue",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
	"!GetAZs":      "Fn::GetAZs",
	"!Transform":   "Fn::Transform",
}

// parseTemplate parses a YAML template and rewrites every short-form tag into
// its long form ({"Ref": x}, {"Fn::GetAtt": [r, a]}, ...), so the validator
// sees one shape. Line numbers of the original are kept on every node.
func parseTemplate(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("YAML: want exactly one document")
	}
	root := doc.Content[0]
	if err := expandTags(root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: a template is a mapping of sections", root.Line)
	}
	return root, nil
}

// expandTags rewrites short-form tags below n in place and rejects what
// CloudFormation does not accept: unknown tags, aliases, duplicate keys.
func expandTags(n *yaml.Node) error {
	switch n.Kind {
	case yaml.AliasNode:
		return fmt.Errorf("line %d: YAML aliases are not supported by CloudFormation", n.Line)
	case yaml.MappingNode:
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping keys must be plain strings", k.Line)
			}
			if k.Value == "<<" {
				return fmt.Errorf("line %d: YAML merge keys are not supported by CloudFormation", k.Line)
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: duplicate key %q (first on line %d)", k.Line, k.Value, first)
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := expandTags(c); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return nil
	}
	fn, ok := shortForms[n.Tag]
	if !ok {
		return fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	arg := *n
	arg.Tag = defaultTag(arg.Kind)
	if fn == "Fn::GetAtt" && arg.Kind == yaml.ScalarNode {
		// !GetAtt Resource.Attribute.Maybe.Nested is [Resource, Attribute.Maybe.Nested].
		res, attr, found := strings.Cut(arg.Value, ".")
		if !found {
			return fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, arg.Value)
		}
		arg = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column, Content: []*yaml.Node{
			scalar(res, n.Line, n.Column), scalar(attr, n.Line, n.Column),
		}}
	}
	*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: []*yaml.Node{
		scalar(fn, n.Line, n.Column), &arg,
	}}
	return nil
}

// defaultTag is the tag of an untagged node of the kind.
func defaultTag(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "!!map"
	case yaml.SequenceNode:
		return "!!seq"
	}
	return "!!str"
}

// scalar returns a string node.
func scalar(v string, line, col int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: line, Column: col}
}

// mappingValue returns the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// lookupPath follows mapping keys from n, returning nil when one is missing.
func lookupPath(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = mappingValue(n, k)
	}
	return n
}

// isNull reports whether n is a YAML null (an empty value or ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
