package infrastructure

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// intrinsic checks one intrinsic function: its argument shape and that what
// it references (parameters, resources, attributes, conditions, mappings)
// exists. inCondition is set inside the Conditions section, the only place
// where condition functions may appear.
func (v *validator) intrinsic(fn string, arg *yaml.Node, path string, inCondition bool) {
	switch fn {
	case "Ref":
		v.ref(arg, path, inCondition)
	case "Fn::GetAtt":
		if v.args(fn, arg, 2, path) {
			v.getAtt(arg.Content[0], arg.Content[1], path)
		}
	case "Fn::Sub":
		v.sub(arg, path, inCondition)
	case "Fn::If":
		for _, b := range v.ifBranches(arg, path) {
			v.walkIn(b, path, inCondition)
		}
	case "Fn::Join", "Fn::Split":
		if v.args(fn, arg, 2, path) {
			if arg.Content[0].Kind != yaml.ScalarNode {
				v.errorf(arg.Content[0], "%s: the delimiter of %s must be a string", path, fn)
			}
			v.walkIn(arg.Content[1], path, inCondition)
		}
	case "Fn::Select":
		if v.args(fn, arg, 2, path) {
			v.walkIn(arg, path, inCondition)
		}
	case "Fn::Cidr":
		if v.args(fn, arg, 3, path) {
			v.walkIn(arg, path, inCondition)
		}
	case "Fn::FindInMap":
		if v.args(fn, arg, 3, path) {
			v.findInMap(arg, path)
			v.walkIn(arg, path, inCondition)
		}
	case "Fn::Base64", "Fn::GetAZs", "Fn::ImportValue":
		v.walkIn(arg, path, inCondition)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		if !inCondition {
			v.errorf(arg, "%s: %s is only allowed in the Conditions section", path, fn)
			return
		}
		v.condition(&yaml.Node{Kind: yaml.MappingNode, Line: arg.Line, Content: []*yaml.Node{scalar(fn, arg.Line, 0), arg}}, path)
	case "Fn::Transform", "Fn::Length", "Fn::ToJsonString", "Fn::ForEach":
		v.errorf(arg, "%s: %s needs a Transform, which this validator does not support", path, fn)
	default:
		v.errorf(arg, "%s: unknown intrinsic function %s", path, fn)
	}
}

// ref checks that a Ref names a parameter, a pseudo parameter or (outside
// Conditions) a resource.
func (v *validator) ref(arg *yaml.Node, path string, inCondition bool) {
	if arg.Kind != yaml.ScalarNode {
		v.errorf(arg, "%s: Ref takes a logical id", path)
		return
	}
	name := arg.Value
	switch _, isResource := v.resources[name]; {
	case v.params[name] || pseudoParams[name]:
	case isResource && inCondition:
		v.errorf(arg, "%s: a condition cannot Ref resource %s", path, name)
	case isResource:
	default:
		v.errorf(arg, "%s: Ref to unknown %q (not a parameter, resource or pseudo parameter)", path, name)
	}
}

// getAtt checks that a Fn::GetAtt names a resource and one of its type's
// attributes.
func (v *validator) getAtt(res, attr *yaml.Node, path string) {
	typ, ok := v.resources[res.Value]
	if res.Kind != yaml.ScalarNode || !ok {
		v.errorf(res, "%s: Fn::GetAtt of unknown resource %q", path, res.Value)
		return
	}
	if attr.Kind != yaml.ScalarNode {
		v.walk(attr, path) // a computed attribute name: only its references can be checked
		return
	}
	rt, known := v.spec.ResourceTypes[typ]
	switch {
	case !known: // custom or unknown type: reported with the resource
	case typ == "AWS::CloudFormation::Stack" && strings.HasPrefix(attr.Value, "Outputs."):
	case !rt.hasAttribute(attr.Value):
		v.errorf(attr, "%s: %s (%s) has no attribute %q (has: %s)", path, res.Value, typ, attr.Value,
			strings.Join(rt.Attributes, ", "))
	}
}

// sub checks Fn::Sub: "template" or ["template", {Var: value}]. Each
// ${Name} must be a variable, parameter, resource or pseudo parameter, each
// ${Resource.Attribute} a valid attribute; ${!Literal} is text.
func (v *validator) sub(arg *yaml.Node, path string, inCondition bool) {
	tmpl, locals := arg, map[string]bool{}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 || arg.Content[0].Kind != yaml.ScalarNode || arg.Content[1].Kind != yaml.MappingNode {
			v.errorf(arg, "%s: Fn::Sub takes a string or [string, {variables}]", path)
			return
		}
		tmpl = arg.Content[0]
		vars := arg.Content[1]
		for i := 0; i < len(vars.Content); i += 2 {
			locals[vars.Content[i].Value] = true
			v.walkIn(vars.Content[i+1], path+".Fn::Sub."+vars.Content[i].Value, inCondition)
		}
	}
	if tmpl.Kind != yaml.ScalarNode {
		v.errorf(tmpl, "%s: Fn::Sub takes a string or [string, {variables}]", path)
		return
	}
	rest := tmpl.Value
	for {
		start := strings.Index(rest, "${")
		if start < 0 {
			return
		}
		rest = rest[start+2:]
		end := strings.Index(rest, "}")
		if end < 0 {
			v.errorf(tmpl, "%s: Fn::Sub: unterminated ${", path)
			return
		}
		name := rest[:end]
		rest = rest[end+1:]
		switch res, attr, dotted := strings.Cut(name, "."); {
		case strings.HasPrefix(name, "!"): // ${!Literal}
		case locals[name]:
		case dotted:
			v.getAtt(scalar(res, tmpl.Line, tmpl.Column), scalar(attr, tmpl.Line, tmpl.Column), path+".Fn::Sub")
		default:
			v.ref(scalar(name, tmpl.Line, tmpl.Column), path+".Fn::Sub", inCondition)
		}
	}
}

// findInMap checks that a literal map name (and literal keys) exist.
func (v *validator) findInMap(arg *yaml.Node, path string) {
	mapName, top, second := arg.Content[0], arg.Content[1], arg.Content[2]
	if mapName.Kind != yaml.ScalarNode {
		return
	}
	m, ok := v.mappings[mapName.Value]
	if !ok {
		v.errorf(mapName, "%s: Fn::FindInMap of unknown mapping %q", path, mapName.Value)
		return
	}
	if top.Kind != yaml.ScalarNode {
		return
	}
	inner := mappingValue(m, top.Value)
	if inner == nil {
		v.errorf(top, "%s: mapping %s has no key %q", path, mapName.Value, top.Value)
		return
	}
	if second.Kind == yaml.ScalarNode && mappingValue(inner, second.Value) == nil {
		v.errorf(second, "%s: mapping %s.%s has no key %q", path, mapName.Value, top.Value, second.Value)
	}
}

// ifBranches checks Fn::If [condition, then, else] and returns its branches.
func (v *validator) ifBranches(arg *yaml.Node, path string) []*yaml.Node {
	if !v.args("Fn::If", arg, 3, path) {
		return nil
	}
	v.conditionName(arg.Content[0], path+".Fn::If")
	return arg.Content[1:]
}

// condition checks a condition: Fn::Equals, Fn::Not, Fn::And, Fn::Or or
// Condition, nested as deep as needed.
func (v *validator) condition(n *yaml.Node, path string) {
	fn, arg, ok := intrinsic(n)
	if !ok {
		v.errorf(n, "%s: want a condition function (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)", path)
		return
	}
	switch fn {
	case "Fn::Equals":
		if v.args(fn, arg, 2, path) {
			v.walkIn(arg, path, true)
		}
	case "Fn::Not":
		if v.args(fn, arg, 1, path) {
			v.condition(arg.Content[0], path+".Fn::Not")
		}
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 || len(arg.Content) > 10 {
			v.errorf(arg, "%s: %s takes a list of 2 to 10 conditions", path, fn)
			return
		}
		for _, c := range arg.Content {
			v.condition(c, path+"."+fn)
		}
	case "Condition":
		v.conditionName(arg, path)
	default:
		v.errorf(n, "%s: %s is not a condition function", path, fn)
	}
}

// conditionName checks that n names a condition of the template.
func (v *validator) conditionName(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || !v.conditions[n.Value] {
		v.errorf(n, "%s: unknown condition %q", path, n.Value)
	}
}
