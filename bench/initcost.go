package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// InitCost is what the stdio binary spends before main: the wall time of
// its trivial `version` command and the most expensive package inits.
type InitCost struct {
	// VersionMS is process start → exit of `aws-mcp-multi-account version`.
	VersionMS float64 `json:"version_ms"`
	// InitDoneMS is when the last package init finished (GODEBUG=inittrace).
	InitDoneMS float64 `json:"init_done_ms"`
	// Top are the package inits with the most clock time.
	Top []PackageInit `json:"top"`
}

// PackageInit is one package's init cost from GODEBUG=inittrace=1.
type PackageInit struct {
	Package string  `json:"package"`
	MS      float64 `json:"ms"`
	Bytes   int     `json:"bytes"`
}

// MeasureInit runs `binary version` once plainly (timed) and once with
// GODEBUG=inittrace=1 (parsed).
func MeasureInit(ctx context.Context, binary string) (*InitCost, error) {
	start := time.Now()
	if err := exec.CommandContext(ctx, binary, "version").Run(); err != nil {
		return nil, err
	}
	out := &InitCost{VersionMS: ms(time.Since(start))}
	cmd := exec.CommandContext(ctx, binary, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		at, _ := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		clock, _ := strconv.ParseFloat(f[4], 64)
		size, _ := strconv.Atoi(f[7])
		out.InitDoneMS = max(out.InitDoneMS, at+clock)
		out.Top = append(out.Top, PackageInit{Package: f[1], MS: clock, Bytes: size})
	}
	sort.Slice(out.Top, func(i, j int) bool { return out.Top[i].MS > out.Top[j].MS })
	out.Top = out.Top[:min(len(out.Top), 6)]
	return out, nil
}
