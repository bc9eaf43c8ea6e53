package proxy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./proxy -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed; if intended, run go test ./proxy -update and review the diff.\ngot:\n%s", name, got)
	}
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestToolSchemasGolden snapshots each advertised tool in a file of its
// own (testdata/tools/NAME.golden.json), so an accidental change to the
// contract fails here naming the tool.
func TestToolSchemasGolden(t *testing.T) {
	tools := ToolDefinitions(Config{})
	for _, tool := range tools {
		t.Run(tool.Name, func(t *testing.T) {
			golden(t, filepath.Join("tools", tool.Name+".golden.json"), indentJSON(t, tool))
		})
	}
	gw, err := GatewayTools(tools)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "gateway-schema.golden.json", indentJSON(t, gw))
}

// TestGatewaySchemaUsesOnlyAllowedKeywords walks the generated schema.
func TestGatewaySchemaUsesOnlyAllowedKeywords(t *testing.T) {
	for _, cfg := range []Config{{}, {ReadOnly: true}, {AllowWriteFanout: true}} {
		gw, err := GatewayTools(ToolDefinitions(cfg))
		if err != nil {
			t.Fatal(err)
		}
		var tools []map[string]any
		if err := json.Unmarshal(indentJSON(t, gw), &tools); err != nil {
			t.Fatal(err)
		}
		for _, tool := range tools {
			checkKeywords(t, tool["name"].(string), tool["inputSchema"].(map[string]any))
		}
	}
}

func checkKeywords(t *testing.T, path string, schema map[string]any) {
	t.Helper()
	allowed := map[string]bool{"type": true, "description": true, "properties": true, "required": true, "items": true}
	for k, v := range schema {
		if !allowed[k] {
			t.Errorf("%s: keyword %q is not accepted by the gateway", path, k)
		}
		switch k {
		case "properties":
			for name, child := range v.(map[string]any) {
				checkKeywords(t, path+"."+name, child.(map[string]any))
			}
		case "items":
			checkKeywords(t, path+"[]", v.(map[string]any))
		}
	}
}
