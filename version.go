package main

import (
	"runtime/debug"
)

// versionOverride is set at link time (-ldflags "-X main.versionOverride=v1.2.3").
var versionOverride string

// version returns the module version, or "dev" for a local build.
func version() string {
	if versionOverride != "" {
		return versionOverride
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// commit returns the VCS revision the binary was built from, if known.
func commit() (rev string, modified bool) {
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
