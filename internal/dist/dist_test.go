package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestReleaseForThisPlatform builds the release of the machine's own
// platform as `go run ./internal/dist` builds every one: the archive
// holds a static binary that prints the HEAD commit, README and LICENSE;
// SHA256SUMS holds; the MCP Bundle, packed the same way, starts from its
// manifest's mcp_config (${__dirname} and the user_config values
// substituted, as Claude Desktop does) and lists its tools over stdio.
func TestReleaseForThisPlatform(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the release is stamped from git")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the release is stamped from git", err)
	}
	host := Target{runtime.GOOS, runtime.GOARCH}
	dir := t.TempDir()
	r := Release{Dir: dir, Root: root, Targets: []Target{host}, Bundles: []Target{host}}
	files, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	archiveName := "aws-mcp-multi-account_" + host.String() + ".tar.gz"
	bundleName := "aws-mcp-multi-account_" + host.String() + ".mcpb"
	if strings.Join(files, " ") != archiveName+" "+bundleName+" SHA256SUMS" {
		t.Fatalf("wrote %v", files)
	}

	// The sums hold.
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	for _, line := range lines {
		sum, name, _ := strings.Cut(line, "  ")
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not hold", name)
		}
	}
	if len(lines) != 2 {
		t.Errorf("SHA256SUMS has %d lines, want 2", len(lines))
	}

	// The archive: the binary, README and LICENSE under one folder.
	unpacked := untarGz(t, filepath.Join(dir, archiveName), t.TempDir())
	prefix := "aws-mcp-multi-account_" + host.String() + "/"
	for _, name := range []string{"aws-mcp-multi-account", "README.md", "LICENSE"} {
		if _, ok := unpacked[prefix+name]; !ok {
			t.Errorf("the archive lacks %s (has %v)", prefix+name, keys(unpacked))
		}
	}
	bin := unpacked[prefix+"aws-mcp-multi-account"]
	if host.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("the linux binary is not static: it has a %v program header", p.Type)
			}
		}
		f.Close()
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Version, Commit string }
	if err := json.Unmarshal(out, &info); err != nil || info.Commit != strings.TrimSpace(string(head)) || info.Version == "" || info.Version == "dev" {
		t.Errorf("version --json: %s (want commit %s)", out, head)
	}

	// The bundle, started as a host starts it.
	bundle := t.TempDir()
	unzip(t, filepath.Join(dir, bundleName), bundle)
	var m struct {
		Server struct {
			EntryPoint string `json:"entry_point"`
			MCPConfig  struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
			} `json:"mcp_config"`
		} `json:"server"`
		UserConfig map[string]struct {
			Default any `json:"default"`
		} `json:"user_config"`
		License       string `json:"license"`
		Compatibility struct {
			Platforms []string `json:"platforms"`
		} `json:"compatibility"`
	}
	raw, err := os.ReadFile(filepath.Join(bundle, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(bundle, m.Server.EntryPoint)); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("the entry point %s: %v", m.Server.EntryPoint, err)
	}
	if m.License != "Apache-2.0" || len(m.Compatibility.Platforms) != 1 || m.Compatibility.Platforms[0] != mcpbPlatform(host.GOOS) {
		t.Errorf("license %q, platforms %v", m.License, m.Compatibility.Platforms)
	}
	accounts := filepath.Join(t.TempDir(), "accounts.json")
	if err := os.WriteFile(accounts, []byte(`[{"id":"222222222222","name":"prod"},{"id":"333333333333","name":"staging"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"accounts_file": accounts} // the rest: their defaults, as the host fills them
	for key, spec := range m.UserConfig {
		if _, ok := values[key]; !ok && spec.Default != nil {
			values[key] = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(jsonText(spec.Default)), `"`), `"`)
		}
	}
	substitute := func(s string) string {
		s = strings.ReplaceAll(s, "${__dirname}", bundle)
		for k, v := range values {
			s = strings.ReplaceAll(s, "${user_config."+k+"}", v)
		}
		return s
	}
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true"}
	for k, v := range m.Server.MCPConfig.Env {
		env = append(env, k+"="+substitute(v))
	}
	var args []string
	for _, a := range m.Server.MCPConfig.Args {
		args = append(args, substitute(a))
	}
	command := substitute(m.Server.MCPConfig.Command)
	if host.GOOS == "windows" {
		command += ".exe" // as hosts do on Windows
	}
	c, err := client.NewStdioMCPClient(command, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "bundle-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize the bundle's server: %v", err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "query_all") {
		t.Errorf("the bundle's server lists %v", names)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "list_accounts"
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("list_accounts through the bundle: %v %+v", err, res)
	}
	if text := res.Content[0].(mcp.TextContent).Text; !strings.Contains(text, `"total":2`) {
		t.Errorf("list_accounts through the bundle: %s", text)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// untarGz unpacks a .tar.gz into dir and returns each file's path by its
// name in the archive.
func untarGz(t *testing.T, path, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, os.FileMode(hdr.Mode)); err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = dst
	}
}

// unzip unpacks a zip archive (a bundle) into dir, keeping modes.
func unzip(t *testing.T, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
