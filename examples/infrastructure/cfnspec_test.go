// Package infrastructure holds the CloudFormation templates of the Lambda
// bridge deployment and, in its tests, an offline validator that checks them
// against the AWS resource specification in testdata/resource-spec.json.
package infrastructure

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
)

// specPath is the extracted resource specification; see spec/README.md.
const specPath = "testdata/resource-spec.json"

// regenerateHint tells a reader how to refresh the specification.
const regenerateHint = "regenerate testdata/resource-spec.json with: bash examples/infrastructure/spec/regenerate.sh"

// cfnSpec is the slice of the CloudFormation resource specification that the
// templates are checked against (written by spec/extract.mjs).
type cfnSpec struct {
	Package       string                   `json:"package"`
	Version       string                   `json:"version"`
	ResourceTypes map[string]*resourceSpec `json:"resourceTypes"`
}

// resourceSpec describes one resource type.
type resourceSpec struct {
	// Attributes are the names Fn::GetAtt accepts, dotted for nested ones.
	Attributes []string `json:"attributes"`
	// Properties are the top-level properties of the type.
	Properties propertySet `json:"properties"`
	// PropertyTypes are the nested types, by the names typeRef.Ref uses.
	PropertyTypes map[string]propertySet `json:"propertyTypes"`
}

// propertySet maps property names to their definitions.
type propertySet map[string]propertySpec

// typeRef is the type of a value: exactly one of Primitive, Ref, List, Map
// or AnyOf is set.
type typeRef struct {
	// Primitive is string, integer, number, boolean, json, date-time or tag.
	Primitive string `json:"primitive,omitempty"`
	// AllowedValues, when not empty, lists the literal values accepted.
	AllowedValues []string `json:"allowedValues,omitempty"`
	// Ref names a nested type of the same resource type.
	Ref string `json:"ref,omitempty"`
	// List is the element type of a list.
	List *typeRef `json:"list,omitempty"`
	// Map is the value type of a map with free-form keys.
	Map *typeRef `json:"map,omitempty"`
	// AnyOf lists alternative types, any of which is accepted.
	AnyOf []typeRef `json:"anyOf,omitempty"`
}

// propertySpec is a property's type and whether it must be present.
type propertySpec struct {
	typeRef
	Required bool `json:"required,omitempty"`
}

// String renders the type as in the CloudFormation documentation.
func (t typeRef) String() string {
	switch {
	case t.Ref != "":
		return t.Ref
	case t.List != nil:
		return "List of " + t.List.String()
	case t.Map != nil:
		return "Map of " + t.Map.String()
	case len(t.AnyOf) > 0:
		parts := make([]string, len(t.AnyOf))
		for i, a := range t.AnyOf {
			parts[i] = a.String()
		}
		return strings.Join(parts, " or ")
	}
	return t.Primitive
}

var (
	specOnce   sync.Once
	specLoaded *cfnSpec
	specErr    error
)

// loadSpec reads testdata/resource-spec.json once per test binary.
func loadSpec() (*cfnSpec, error) {
	specOnce.Do(func() {
		specLoaded, specErr = readSpec(specPath)
	})
	return specLoaded, specErr
}

// readSpec reads and checks a specification file.
func readSpec(path string) (*cfnSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read resource specification: %w (%s)", err, regenerateHint)
	}
	var s cfnSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if s.Version == "" || len(s.ResourceTypes) == 0 {
		return nil, fmt.Errorf("%s: no version or no resource types (%s)", path, regenerateHint)
	}
	for name, rt := range s.ResourceTypes {
		if err := rt.checkRefs(); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
	}
	return &s, nil
}

// checkRefs reports a nested type reference that names no nested type, so a
// broken specification fails loudly instead of accepting everything.
func (r *resourceSpec) checkRefs() error {
	var check func(t typeRef) error
	check = func(t typeRef) error {
		switch {
		case t.Ref != "":
			if _, ok := r.PropertyTypes[t.Ref]; !ok {
				return fmt.Errorf("nested type %s is not defined", t.Ref)
			}
		case t.List != nil:
			return check(*t.List)
		case t.Map != nil:
			return check(*t.Map)
		case len(t.AnyOf) > 0:
			for _, a := range t.AnyOf {
				if err := check(a); err != nil {
					return err
				}
			}
		case t.Primitive == "":
			return fmt.Errorf("type with no kind")
		}
		return nil
	}
	sets := []propertySet{r.Properties}
	for _, ps := range r.PropertyTypes {
		sets = append(sets, ps)
	}
	for _, ps := range sets {
		for name, p := range ps {
			if err := check(p.typeRef); err != nil {
				return fmt.Errorf("property %s: %w", name, err)
			}
		}
	}
	return nil
}

// hasAttribute reports whether Fn::GetAtt accepts attr on the type.
func (r *resourceSpec) hasAttribute(attr string) bool {
	for _, a := range r.Attributes {
		if a == attr {
			return true
		}
	}
	return false
}
