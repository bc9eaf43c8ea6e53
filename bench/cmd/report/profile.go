package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/bench"
)

// Profile is the pprof view of the largest fan-out.
type Profile struct {
	N      int                 `json:"n"`
	C      int                 `json:"c"`
	Result *bench.FanoutResult `json:"result"`
	// Tool is the profiled tool-layer run with answers of Payload bytes.
	Tool    *bench.ToolLayerResult `json:"tool"`
	Payload int                    `json:"payload_bytes"`
	// Tables are `go tool pprof -top` outputs, by name.
	Tables []Table `json:"tables"`
}

// Table is one pprof listing.
type Table struct {
	Title   string `json:"title"`
	Command string `json:"command"`
	Text    string `json:"text"`
}

// profile runs query_all N×C once more with CPU profiles of the cold and
// warm runs and an allocation profile, then the tool layer with answers of
// payload bytes, and renders their top entries.
func profile(bins string, n, c, payload int) (*Profile, error) {
	dir, err := os.MkdirTemp("", "amma-profile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := &Profile{N: n, C: c, Result: &bench.FanoutResult{}}
	if err := child(bins, p.Result, "-scenario", "fanout", "-n", itoa(n), "-c", itoa(c), "-warm", "1", "-profile-dir", dir); err != nil {
		return nil, err
	}
	p.Tool, p.Payload = &bench.ToolLayerResult{}, payload
	if err := child(bins, p.Tool, "-scenario", "tool", "-n", itoa(n), "-c", itoa(c), "-payload", itoa(payload), "-profile-dir", dir); err != nil {
		return nil, err
	}
	ours := `aws-mcp-multi-account/(proxy|auth|accounts)|mark3labs|aws-sdk-go-v2|smithy|encoding/json|net/http\.|fmt\.|strings\.`
	for _, t := range []struct {
		title, file string
		args        []string
	}{
		{"CPU, cold run, top 25 by flat time", "cpu-cold.pprof", []string{"-top", "-nodecount=25"}},
		{"CPU, cold run, top 30 by cumulative time (library and product frames only)", "cpu-cold.pprof", []string{"-top", "-cum", "-nodecount=30", "-show=" + ours}},
		{"CPU, warm run, top 30 by cumulative time (library and product frames only)", "cpu-warm.pprof", []string{"-top", "-cum", "-nodecount=30", "-show=" + ours}},
		{"Allocated bytes (cold and warm runs and setup), top 25 by flat bytes", "allocs.pprof", []string{"-top", "-nodecount=25", "-sample_index=alloc_space"}},
		{fmt.Sprintf("CPU, query_all tool handler and response encoding with %d KiB answers, top 30 by cumulative time (library and product frames only)", payload>>10), "cpu-tool.pprof", []string{"-top", "-cum", "-nodecount=30", "-show=" + ours}},
	} {
		args := append([]string{"tool", "pprof"}, t.args...)
		args = append(args, filepath.Join(dir, t.file))
		var out, errb bytes.Buffer
		cmd := exec.Command("go", args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		p.Tables = append(p.Tables, Table{Title: t.title, Command: "go tool pprof " + strings.Join(t.args, " ") + " " + t.file, Text: trimHeader(out.String())})
	}
	return p, nil
}

// trimHeader drops pprof's File/Build ID/Time lines, which change per run.
func trimHeader(s string) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(line, "File: ") || strings.HasPrefix(line, "Build ID: ") || strings.HasPrefix(line, "Time: ") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}
