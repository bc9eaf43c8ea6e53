// Package buildinfo says which build is running: the program's name, its
// version and the commit it was built from.
package buildinfo

import (
	"regexp"
	"runtime/debug"
)

// Program names the program in messages, User-Agents and MCP handshakes.
const Program = "aws-mcp-multi-account"

// Module is the module path, for go install.
const Module = "github.com/centralops/aws-mcp-multi-account"

// The release build (go run ./internal/dist) stamps both at link time:
// -ldflags "-X github.com/centralops/aws-mcp-multi-account/internal/buildinfo.versionOverride=v1.2.3
// -X github.com/centralops/aws-mcp-multi-account/internal/buildinfo.commitOverride=<sha>".
var versionOverride, commitOverride string

// Version returns the stamped version, else the module version Go
// recorded (a tag or a pseudo-version for go install and, since Go 1.24,
// for go build in a checkout), else "dev".
func Version() string {
	if versionOverride != "" {
		return versionOverride
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// pseudoVersion ends in the commit's 12-character prefix
// (https://go.dev/ref/mod#pseudo-versions).
var pseudoVersion = regexp.MustCompile(`-(?:0\.)?\d{14}-([0-9a-f]{12})(?:\+dirty)?$`)

// Commit returns the commit the binary was built from and whether the
// tree had changes: the stamp of a release build, else the VCS revision
// go build recorded (not with -buildvcs=false), else the commit named by
// a pseudo-version (go install of a branch or commit), else "unknown".
func Commit() (rev string, modified bool) {
	if commitOverride != "" {
		return commitOverride, false
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown", false
	}
	rev = "unknown"
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if m := pseudoVersion.FindStringSubmatch(info.Main.Version); rev == "unknown" && m != nil {
		rev = m[1]
	}
	return rev, modified
}

// Info is what `version --json` prints.
type Info struct {
	Program  string `json:"program"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// Read returns the build's Info.
func Read() Info {
	rev, modified := Commit()
	goVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	return Info{Program: Program, Version: Version(), Commit: rev, Modified: modified, Go: goVersion}
}
