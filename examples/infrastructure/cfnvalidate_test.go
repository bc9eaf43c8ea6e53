package infrastructure

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Allowed keys of the template, its sections and their entries.
var (
	topLevelKeys = keySet("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
		"Mappings", "Conditions", "Transform", "Resources", "Outputs")
	parameterKeys = keySet("Type", "Default", "Description", "AllowedValues", "AllowedPattern",
		"ConstraintDescription", "MinLength", "MaxLength", "MinValue", "MaxValue", "NoEcho")
	resourceKeys = keySet("Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy",
		"UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy")
	outputKeys      = keySet("Description", "Value", "Export", "Condition")
	deletionPolices = keySet("Delete", "Retain", "RetainExceptOnCreate", "Snapshot")
	pseudoParams    = keySet("AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
		"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix")
)

var (
	logicalID      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	parameterTypes = regexp.MustCompile(`^(String|Number|List<Number>|CommaDelimitedList|` +
		`(List<)?AWS::EC2::[A-Za-z]+::[A-Za-z]+>?|AWS::Route53::HostedZone::Id|List<AWS::Route53::HostedZone::Id>|` +
		`AWS::SSM::Parameter::Name|AWS::SSM::Parameter::Value<.+>)$`)
)

// validator checks one parsed template against the specification and
// collects every problem it finds.
type validator struct {
	spec       *cfnSpec
	params     map[string]bool
	mappings   map[string]*yaml.Node
	conditions map[string]bool
	resources  map[string]string // logical id → resource type
	errs       []error
}

// validateTemplate parses and checks a template, returning every problem
// joined into one error, each prefixed by its line.
func validateTemplate(s *cfnSpec, data []byte) error {
	root, err := parseTemplate(data)
	if err != nil {
		return err
	}
	v := &validator{spec: s, params: map[string]bool{}, mappings: map[string]*yaml.Node{},
		conditions: map[string]bool{}, resources: map[string]string{}}
	v.template(root)
	return errors.Join(v.errs...)
}

// errorf records a problem at n's line.
func (v *validator) errorf(n *yaml.Node, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...)))
}

// template checks the sections: first it learns the names every reference may
// point at, then it checks each section's entries.
func (v *validator) template(root *yaml.Node) {
	for i := 0; i < len(root.Content); i += 2 {
		if k := root.Content[i]; !topLevelKeys[k.Value] {
			v.errorf(k, "unknown top-level section %q (want one of %s)", k.Value, sortedKeys(topLevelKeys))
		}
	}
	if n := mappingValue(root, "AWSTemplateFormatVersion"); n != nil && n.Value != "2010-09-09" {
		v.errorf(n, "AWSTemplateFormatVersion %q: the only version is 2010-09-09", n.Value)
	}
	if n := mappingValue(root, "Description"); n != nil && (n.Kind != yaml.ScalarNode || len(n.Value) > 1024) {
		v.errorf(n, "Description must be a string of at most 1024 bytes")
	}
	if n := mappingValue(root, "Transform"); n != nil {
		v.errorf(n, "Transform is not supported by this validator; expand the template first")
	}
	resources := mappingValue(root, "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode || len(resources.Content) == 0 {
		v.errorf(root, "a template needs a non-empty Resources section")
		return
	}
	v.names(mappingValue(root, "Parameters"), "Parameters", func(name string, _ *yaml.Node) { v.params[name] = true })
	v.names(mappingValue(root, "Mappings"), "Mappings", func(name string, n *yaml.Node) { v.mappings[name] = n })
	v.names(mappingValue(root, "Conditions"), "Conditions", func(name string, _ *yaml.Node) { v.conditions[name] = true })
	v.names(resources, "Resources", func(name string, n *yaml.Node) {
		if v.params[name] {
			v.errorf(n, "resource %s has the name of a parameter", name)
		}
		v.resources[name] = mappingValue(n, "Type").Value
	})
	forEach(mappingValue(root, "Parameters"), v.parameter)
	v.parameterGroups(lookupPath(root, "Metadata", "AWS::CloudFormation::Interface", "ParameterGroups"))
	forEach(mappingValue(root, "Conditions"), func(name string, n *yaml.Node) {
		v.condition(n, "Conditions."+name)
	})
	forEach(resources, v.resource)
	v.names(mappingValue(root, "Outputs"), "Outputs", func(string, *yaml.Node) {})
	forEach(mappingValue(root, "Outputs"), v.output)
}

// names checks that a section is a mapping of mappings with valid logical
// ids and reports each entry to add.
func (v *validator) names(section *yaml.Node, what string, add func(string, *yaml.Node)) {
	if section == nil {
		return
	}
	if section.Kind != yaml.MappingNode {
		v.errorf(section, "%s must be a mapping", what)
		return
	}
	for i := 0; i < len(section.Content); i += 2 {
		k, val := section.Content[i], section.Content[i+1]
		if !logicalID.MatchString(k.Value) {
			v.errorf(k, "%s name %q: only letters and digits are allowed", what, k.Value)
		}
		if what != "Conditions" && val.Kind != yaml.MappingNode {
			v.errorf(val, "%s.%s must be a mapping", what, k.Value)
			continue
		}
		if what == "Resources" {
			if t := mappingValue(val, "Type"); t == nil || t.Kind != yaml.ScalarNode || t.Value == "" {
				v.errorf(val, "Resources.%s has no Type", k.Value)
				continue
			}
		}
		add(k.Value, val)
	}
}

// forEach calls fn for each entry of a mapping section.
func forEach(section *yaml.Node, fn func(string, *yaml.Node)) {
	if section == nil || section.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i < len(section.Content); i += 2 {
		fn(section.Content[i].Value, section.Content[i+1])
	}
}

// parameter checks a parameter's keys and type, and that its Default
// satisfies its own constraints.
func (v *validator) parameter(name string, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	v.knownKeys(n, parameterKeys, "Parameters."+name)
	typ := mappingValue(n, "Type")
	if typ == nil || !parameterTypes.MatchString(typ.Value) {
		v.errorf(n, "Parameters.%s: missing or unknown Type", name)
		return
	}
	def := mappingValue(n, "Default")
	if def == nil {
		return
	}
	if def.Kind != yaml.ScalarNode {
		v.errorf(def, "Parameters.%s: Default must be a scalar", name)
		return
	}
	if allowed := mappingValue(n, "AllowedValues"); allowed != nil {
		if allowed.Kind != yaml.SequenceNode || len(allowed.Content) == 0 {
			v.errorf(allowed, "Parameters.%s: AllowedValues must be a non-empty list", name)
		} else if !containsValue(allowed, def.Value) {
			v.errorf(def, "Parameters.%s: Default %q is not in AllowedValues", name, def.Value)
		}
	}
	switch typ.Value {
	case "String":
		v.stringDefault(name, n, def.Value)
	case "Number":
		num, err := strconv.ParseFloat(def.Value, 64)
		if err != nil {
			v.errorf(def, "Parameters.%s: Default %q is not a number", name, def.Value)
			return
		}
		if lo := mappingValue(n, "MinValue"); lo != nil && num < atof(lo.Value) {
			v.errorf(def, "Parameters.%s: Default %s is below MinValue %s", name, def.Value, lo.Value)
		}
		if hi := mappingValue(n, "MaxValue"); hi != nil && num > atof(hi.Value) {
			v.errorf(def, "Parameters.%s: Default %s is above MaxValue %s", name, def.Value, hi.Value)
		}
	}
}

// parameterGroups checks that the console's parameter groups name only
// parameters of the template.
func (v *validator) parameterGroups(groups *yaml.Node) {
	if groups == nil {
		return
	}
	for _, g := range groups.Content {
		names := mappingValue(g, "Parameters")
		if names == nil {
			v.errorf(g, "Metadata: a parameter group needs Parameters")
			continue
		}
		for _, n := range names.Content {
			if !v.params[n.Value] {
				v.errorf(n, "Metadata: parameter group names unknown parameter %q", n.Value)
			}
		}
	}
}

// stringDefault checks a String parameter's Default against AllowedPattern
// (a whole-value match, as CloudFormation does), MinLength and MaxLength.
func (v *validator) stringDefault(name string, n *yaml.Node, def string) {
	if p := mappingValue(n, "AllowedPattern"); p != nil {
		// CloudFormation uses Java regular expressions; skip the few Go cannot read.
		if re, err := regexp.Compile(`^(?:` + p.Value + `)$`); err == nil && !re.MatchString(def) {
			v.errorf(p, "Parameters.%s: Default %q does not match AllowedPattern %q", name, def, p.Value)
		}
	}
	if lo := mappingValue(n, "MinLength"); lo != nil && float64(len(def)) < atof(lo.Value) {
		v.errorf(lo, "Parameters.%s: Default %q is shorter than MinLength %s", name, def, lo.Value)
	}
	if hi := mappingValue(n, "MaxLength"); hi != nil && float64(len(def)) > atof(hi.Value) {
		v.errorf(hi, "Parameters.%s: Default %q is longer than MaxLength %s", name, def, hi.Value)
	}
}

// resource checks a resource's attributes and, for a type in the
// specification, its properties.
func (v *validator) resource(name string, n *yaml.Node) {
	typ, ok := v.resources[name]
	if !ok {
		return // not a mapping with a Type: already reported
	}
	path := "Resources." + name
	v.knownKeys(n, resourceKeys, path)
	if c := mappingValue(n, "Condition"); c != nil {
		v.conditionName(c, path+".Condition")
	}
	if p := mappingValue(n, "DeletionPolicy"); p != nil && !deletionPolices[p.Value] {
		v.errorf(p, "%s.DeletionPolicy %q: want one of %s", path, p.Value, sortedKeys(deletionPolices))
	}
	if d := mappingValue(n, "DependsOn"); d != nil {
		deps := []*yaml.Node{d}
		if d.Kind == yaml.SequenceNode {
			deps = d.Content
		}
		for _, dep := range deps {
			if _, ok := v.resources[dep.Value]; !ok || dep.Kind != yaml.ScalarNode || dep.Value == name {
				v.errorf(dep, "%s.DependsOn: %q is not another resource of the template", path, dep.Value)
			}
		}
	}
	props := mappingValue(n, "Properties")
	if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
		v.walk(props, path+".Properties")
		return
	}
	rt, ok := v.spec.ResourceTypes[typ]
	if !ok {
		v.errorf(mappingValue(n, "Type"), "%s: unknown resource type %s (a typo, or %s)", path, typ, regenerateHint)
		return
	}
	if props == nil {
		props = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	}
	if props.Kind != yaml.MappingNode {
		v.errorf(props, "%s.Properties must be a mapping", path)
		return
	}
	v.object(props, rt.Properties, rt, typ, path+".Properties")
}

// output checks one output.
func (v *validator) output(name string, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return // already reported
	}
	path := "Outputs." + name
	v.knownKeys(n, outputKeys, path)
	if c := mappingValue(n, "Condition"); c != nil {
		v.conditionName(c, path+".Condition")
	}
	val := mappingValue(n, "Value")
	if val == nil || isNull(val) {
		v.errorf(n, "%s has no Value", path)
	} else {
		v.walk(val, path+".Value")
	}
	if exp := mappingValue(n, "Export"); exp != nil {
		if en := mappingValue(exp, "Name"); exp.Kind != yaml.MappingNode || len(exp.Content) != 2 || en == nil {
			v.errorf(exp, "%s.Export must be a mapping with only Name", path)
		} else {
			v.walk(en, path+".Export.Name")
		}
	}
}

// knownKeys reports keys of mapping n that are not in allowed.
func (v *validator) knownKeys(n *yaml.Node, allowed map[string]bool, path string) {
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; !allowed[k.Value] {
			v.errorf(k, "%s: unknown key %q (want one of %s)", path, k.Value, sortedKeys(allowed))
		}
	}
}

// keySet builds a set of strings.
func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// sortedKeys lists a set's members, sorted and comma-separated.
func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// containsValue reports whether sequence n has a scalar equal to s.
func containsValue(n *yaml.Node, s string) bool {
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode && c.Value == s {
			return true
		}
	}
	return false
}

// atof parses a number, treating garbage as zero (reported elsewhere).
func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
