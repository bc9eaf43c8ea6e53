package infrastructure

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// tagProperties is the shape of the specification's "tag" primitive.
var tagProperties = propertySet{
	"Key":   {typeRef: typeRef{Primitive: "string"}, Required: true},
	"Value": {typeRef: typeRef{Primitive: "string"}, Required: true},
}

// object checks a mapping against a property set: every key must be a
// property, every value must fit its type, every required property present.
// owner names the resource or nested type in messages.
func (v *validator) object(n *yaml.Node, props propertySet, rt *resourceSpec, owner, path string) {
	for i := 0; i < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p, ok := props[k.Value]
		if !ok {
			v.errorf(k, "%s: unknown property %q of %s (known: %s)", path, k.Value, owner, sortedKeys(props))
			v.walk(val, path+"."+k.Value)
			continue
		}
		v.value(val, p.typeRef, rt, owner, path+"."+k.Value)
	}
	names := make([]string, 0, len(props))
	for name, p := range props {
		if p.Required && mappingValue(n, name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		v.errorf(n, "%s: missing required property %s of %s", path, name, owner)
	}
}

// value checks one value against its type. An intrinsic function's result
// cannot be typed offline, so only its arguments are checked, except that
// both branches of Fn::If are checked against the type.
func (v *validator) value(n *yaml.Node, t typeRef, rt *resourceSpec, owner, path string) {
	if fn, arg, ok := intrinsic(n); ok {
		if fn != "Fn::If" {
			v.intrinsic(fn, arg, path, false)
			return
		}
		for _, branch := range v.ifBranches(arg, path) {
			if !isNoValue(branch) {
				v.value(branch, t, rt, owner, path)
			}
		}
		return
	}
	if isNull(n) {
		v.errorf(n, "%s: empty value (want %s)", path, t)
		return
	}
	switch {
	case len(t.AnyOf) > 0:
		saved, first := v.errs, []error(nil)
		for i, alt := range t.AnyOf {
			v.errs = nil
			v.value(n, alt, rt, owner, path)
			if len(v.errs) == 0 {
				v.errs = saved
				return
			}
			if i == 0 {
				first = v.errs
			}
		}
		v.errs = append(saved, first...)
	case t.Ref != "":
		if v.wantKind(n, yaml.MappingNode, t, path) {
			v.object(n, rt.PropertyTypes[t.Ref], rt, t.Ref, path)
		}
	case t.List != nil:
		if v.wantKind(n, yaml.SequenceNode, t, path) {
			for i, item := range n.Content {
				v.value(item, *t.List, rt, owner, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case t.Map != nil:
		if v.wantKind(n, yaml.MappingNode, t, path) {
			for i := 0; i < len(n.Content); i += 2 {
				v.value(n.Content[i+1], *t.Map, rt, owner, path+"."+n.Content[i].Value)
			}
		}
	case t.Primitive == "json":
		v.walk(n, path)
	case t.Primitive == "tag":
		if v.wantKind(n, yaml.MappingNode, t, path) {
			v.object(n, tagProperties, rt, "Tag", path)
		}
	default:
		if v.wantKind(n, yaml.ScalarNode, t, path) {
			v.literal(n, t, path)
		}
	}
}

// literal checks a scalar against a primitive type and its allowed values.
func (v *validator) literal(n *yaml.Node, t typeRef, path string) {
	var err error
	switch t.Primitive {
	case "integer":
		_, err = strconv.ParseInt(n.Value, 10, 64)
	case "number":
		_, err = strconv.ParseFloat(n.Value, 64)
	case "boolean":
		if s := strings.ToLower(n.Value); s != "true" && s != "false" {
			err = fmt.Errorf("not true or false")
		}
	}
	if err != nil {
		v.errorf(n, "%s: %q is not a valid %s", path, n.Value, t.Primitive)
	}
	if len(t.AllowedValues) > 0 {
		for _, a := range t.AllowedValues {
			if a == n.Value {
				return
			}
		}
		v.errorf(n, "%s: %q is not an allowed value (want one of %s)", path, n.Value, strings.Join(t.AllowedValues, ", "))
	}
}

// wantKind reports whether n has the YAML kind type t needs, recording an
// error when it has not.
func (v *validator) wantKind(n *yaml.Node, kind yaml.Kind, t typeRef, path string) bool {
	if n.Kind == kind {
		return true
	}
	v.errorf(n, "%s: want %s, got %s", path, t, kindName(n.Kind))
	return false
}

// kindName names a YAML node kind for messages.
func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

// walk checks the intrinsic functions anywhere below n, in a free-form value
// such as a policy document or an output.
func (v *validator) walk(n *yaml.Node, path string) { v.walkIn(n, path, false) }

// walkIn is walk, with inCondition set inside the Conditions section.
func (v *validator) walkIn(n *yaml.Node, path string, inCondition bool) {
	if n == nil {
		return
	}
	if fn, arg, ok := intrinsic(n); ok {
		v.intrinsic(fn, arg, path, inCondition)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			v.walkIn(n.Content[i+1], path+"."+n.Content[i].Value, inCondition)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			v.walkIn(c, fmt.Sprintf("%s[%d]", path, i), inCondition)
		}
	}
}

// intrinsic returns the function name and argument of a one-key mapping
// whose key is Ref, Condition or Fn::Something.
func intrinsic(n *yaml.Node) (string, *yaml.Node, bool) {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return "", nil, false
	}
	k := n.Content[0].Value
	if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
		return k, n.Content[1], true
	}
	return "", nil, false
}

// isNoValue reports whether n is Ref AWS::NoValue.
func isNoValue(n *yaml.Node) bool {
	fn, arg, ok := intrinsic(n)
	return ok && fn == "Ref" && arg.Value == "AWS::NoValue"
}

// args checks that an intrinsic's argument is a list of count items.
func (v *validator) args(fn string, arg *yaml.Node, count int, path string) bool {
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == count {
		return true
	}
	v.errorf(arg, "%s: %s takes a list of %d arguments", path, fn, count)
	return false
}
