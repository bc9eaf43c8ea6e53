package infrastructure

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// wantTemplates are the templates the deployment needs; the glob below must
// find at least these, so a renamed file cannot make the test pass vacuously.
var wantTemplates = []string{
	"agentcore-runtime.yaml",
	"bridge-lambda.yaml",
	"cognito.yaml",
	"gateway.yaml",
	"member-account-role.yaml",
	"stackset.yaml",
	"team-server.yaml",
}

// TestTemplates validates every *.yaml in this directory offline against the
// CloudFormation resource specification.
func TestTemplates(t *testing.T) {
	t.Parallel()
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, want := range wantTemplates {
		if i := sort.SearchStrings(files, want); i == len(files) || files[i] != want {
			t.Errorf("template %s is missing (found %v)", want, files)
		}
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateTemplate(spec, data); err != nil {
				t.Errorf("%s is not a valid template (spec %s@%s):\n%v", file, spec.Package, spec.Version,
					strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
		})
	}
}

// TestSpecCoversLambdaBridge pins the facts the templates rely on, so a
// regenerated specification that lost them fails here with a clear message.
func TestSpecCoversLambdaBridge(t *testing.T) {
	t.Parallel()
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	target := spec.ResourceTypes["AWS::BedrockAgentCore::GatewayTarget"]
	if target == nil {
		t.Fatalf("spec %s has no AWS::BedrockAgentCore::GatewayTarget", spec.Version)
	}
	for _, nested := range []string{"McpLambdaTargetConfiguration", "ToolSchema", "ToolDefinition", "SchemaDefinition"} {
		if _, ok := target.PropertyTypes[nested]; !ok {
			t.Errorf("GatewayTarget has no nested type %s", nested)
		}
	}
	if got := target.PropertyTypes["ToolSchema"]["InlinePayload"].typeRef.String(); got != "List of ToolDefinition" {
		t.Errorf("ToolSchema.InlinePayload is %q, want List of ToolDefinition", got)
	}
}

// TestValidatorRejects proves the validator can fail: each template breaks
// one rule and must be rejected with a message naming the problem.
func TestValidatorRejects(t *testing.T) {
	t.Parallel()
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		template string
		want     string
	}{
		{"unknown resource type", `
Resources:
  Thing:
    Type: AWS::Nope::Thing`, "unknown resource type AWS::Nope::Thing"},
		{"unknown property", `
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionDays: 7`, `unknown property "RetentionDays" of AWS::Logs::LogGroup`},
		{"unknown nested property", lambdaWith(`
      Code:
        S3Bucket: b
        S3Keys: k`), `Resources.Fn.Properties.Code: unknown property "S3Keys" of Code`},
		{"unknown property in a list of nested types", `
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      Policies:
        - PolicyName: p
          PolicyDocument: {}
          Document: {}`, `Resources.Role.Properties.Policies[0]: unknown property "Document" of Policy`},
		{"unknown property deep in a map of nested types", gatewayTargetWith(`
                  Properties:
                    region: {Type: string, Format: x}`), `InputSchema.Properties.region: unknown property "Format" of SchemaDefinition`},
		{"missing required property", `
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: x}`, "missing required property Role of AWS::Lambda::Function"},
		{"missing required nested property", gatewayTargetWith(`
                  Properties:
                    region: {Description: no type}`), "missing required property Type of SchemaDefinition"},
		{"value not in allowed values", `
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: 8`, `"8" is not an allowed value`},
		{"list where an object is wanted", lambdaWith(`
      Code: [x]`), "want Code, got a list"},
		{"Ref to nothing", lambdaWith(`
      Code: {ZipFile: !Ref Nowhere}`), `Ref to unknown "Nowhere"`},
		{"Sub variable to nothing", lambdaWith(`
      Code: {ZipFile: !Sub "${AWS::Region}-${Nowhere}"}`), `Ref to unknown "Nowhere"`},
		{"GetAtt of an unknown attribute", lambdaWith(`
      Code: {ZipFile: !GetAtt Fn.Nope}`), `Fn (AWS::Lambda::Function) has no attribute "Nope"`},
		{"GetAtt of an unknown resource", lambdaWith(`
      Code: {ZipFile: !GetAtt Other.Arn}`), `Fn::GetAtt of unknown resource "Other"`},
		{"If with an unknown condition", lambdaWith(`
      Code: {ZipFile: !If [Nope, a, b]}`), `unknown condition "Nope"`},
		{"If branch with a bad nested property", lambdaWith(`
      Code: !If [Always, {ZipFile: x}, {Zip: y}]`), `unknown property "Zip" of Code`},
		{"condition function in a property", lambdaWith(`
      Code: {ZipFile: !Equals [a, b]}`), "Fn::Equals is only allowed in the Conditions section"},
		{"unknown short-form tag", lambdaWith(`
      Code: {ZipFile: !Reff x}`), "unknown tag !Reff"},
		{"duplicate key", lambdaWith(`
      Code: {ZipFile: x}
      Code: {ZipFile: y}`), `duplicate key "Code"`},
		{"unknown top-level section", `
Resource: {}
Resources:
  Group: {Type: AWS::Logs::LogGroup}`, `unknown top-level section "Resource"`},
		{"output without value", `
Resources:
  Group: {Type: AWS::Logs::LogGroup}
Outputs:
  Name: {Description: no value}`, "Outputs.Name has no Value"},
		{"parameter default outside allowed values", `
Parameters:
  Arch: {Type: String, Default: arm, AllowedValues: [arm64, x86_64]}
Resources:
  Group: {Type: AWS::Logs::LogGroup}`, `Default "arm" is not in AllowedValues`},
		{"parameter default not matching its pattern", `
Parameters:
  Org: {Type: String, Default: o-1, AllowedPattern: 'o-[a-z0-9]{10,32}'}
Resources:
  Group: {Type: AWS::Logs::LogGroup}`, `does not match AllowedPattern`},
		{"condition referring to a resource", `
Conditions:
  Bad: !Equals [!Ref Group, x]
Resources:
  Group: {Type: AWS::Logs::LogGroup}`, "a condition cannot Ref resource Group"},
		{"parameter group of an unknown parameter", `
Metadata:
  AWS::CloudFormation::Interface:
    ParameterGroups:
      - Label: {default: Code}
        Parameters: [Bucket]
Resources:
  Group: {Type: AWS::Logs::LogGroup}`, `unknown parameter "Bucket"`},
		{"DependsOn nothing", `
Resources:
  Group: {Type: AWS::Logs::LogGroup, DependsOn: Nowhere}`, `"Nowhere" is not another resource`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := validateTemplate(spec, []byte(tc.template))
			if err == nil {
				t.Fatalf("template accepted, want an error containing %q:%s", tc.want, tc.template)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestValidatorAccepts guards against a validator that rejects everything:
// small templates using each construct must pass.
func TestValidatorAccepts(t *testing.T) {
	t.Parallel()
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"lambda with intrinsics": lambdaWith(`
      Code:
        ZipFile: !Sub
          - "${Prefix}-${AWS::Region}-${Fn.Arn}-${!Literal}"
          - Prefix: !Select [0, !Split [',', 'a,b']]
      Architectures: [!If [Always, arm64, !Ref AWS::NoValue]]
      Environment:
        Variables:
          ANSWER: !Join ['', [!Ref AWS::AccountId, !GetAtt [Fn, Arn]]]`),
		"gateway target with tool schema": gatewayTargetWith(`
                  Properties:
                    region: {Type: string, Description: where}
                    regions: {Type: array, Items: {Type: string}}
                  Required: [region]`),
	}
	for name, tmpl := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := validateTemplate(spec, []byte(tmpl)); err != nil {
				t.Fatalf("valid template rejected:\n%v%s", err, tmpl)
			}
		})
	}
}

// lambdaWith is a template with one function whose properties, besides Role
// and Runtime, are props (indented six spaces), and a condition Always.
func lambdaWith(props string) string {
	return `
Conditions:
  Always: !Equals [a, a]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: '2012-10-17'}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Runtime: provided.al2023` + props
}

// gatewayTargetWith is a template with a Lambda gateway target whose one
// tool's InputSchema has the lines schema (indented eighteen spaces).
func gatewayTargetWith(schema string) string {
	return `
Resources:
  Target:
    Type: AWS::BedrockAgentCore::GatewayTarget
    Properties:
      GatewayIdentifier: gw-1
      Name: t
      CredentialProviderConfigurations:
        - CredentialProviderType: GATEWAY_IAM_ROLE
      TargetConfiguration:
        Mcp:
          Lambda:
            LambdaArn: arn:aws:lambda:us-east-1:111111111111:function:f
            ToolSchema:
              InlinePayload:
                - Name: tool
                  Description: a tool
                  InputSchema:
                    Type: object` + strings.ReplaceAll(schema, "\n                  ", "\n                    ")
}
