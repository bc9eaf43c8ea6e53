// Command dist builds a release locally: `go run ./internal/dist [DIR]`
// (DIR defaults to dist/) writes an archive of the program for linux,
// darwin and windows on amd64 and arm64 (.tar.gz, .zip for windows) with
// README and LICENSE, an MCP Bundle (.mcpb, manifest 0.3) for each of
// Claude Desktop's platforms, and SHA256SUMS over them all. Binaries are
// static (CGO_ENABLED=0), built with -trimpath, and stamped with the
// version (the git tag at HEAD, else 0.0.0-<commit>) and the commit.
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"
)

func main() {
	log.SetFlags(0)
	targets := flag.String("targets", "", "comma-separated GOOS/GOARCH to build (default: every release target)")
	bundles := flag.String("bundles", "", "comma-separated GOOS/GOARCH to bundle as .mcpb (default: Claude Desktop's platforms)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./internal/dist [flags] [DIR]\n\nBuilds the release archives, MCP Bundles and SHA256SUMS into DIR (default dist/).\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	dir := "dist"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	r := Release{Dir: dir, Targets: ReleaseTargets, Bundles: BundleTargets}
	if *targets != "" {
		r.Targets = parseTargets(*targets)
	}
	if *bundles != "" {
		r.Bundles = parseTargets(*bundles)
	}
	files, err := r.Build()
	if err != nil {
		log.Fatalf("dist: %v", err)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

func parseTargets(s string) []Target {
	var out []Target
	for _, t := range strings.Split(s, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(t), "/")
		if !ok {
			log.Fatalf("dist: target %q: want GOOS/GOARCH", t)
		}
		out = append(out, Target{goos, goarch})
	}
	return out
}
