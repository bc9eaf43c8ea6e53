// Package buildinfo says which build is running: the program's name, its
// version and the commit it was built from.
package buildinfo

import (
	"runtime/debug"
)

// Program names the program in messages, User-Agents and MCP handshakes.
const Program = "aws-mcp-multi-account"

// versionOverride is set at link time (-ldflags
// "-X github.com/centralops/aws-mcp-multi-account/internal/buildinfo.versionOverride=v1.2.3").
var versionOverride string

// Version returns the module version, or "dev" for a local build.
func Version() string {
	if versionOverride != "" {
		return versionOverride
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// Commit returns the VCS revision the binary was built from, if known.
func Commit() (rev string, modified bool) {
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
	return rev, modified
}
