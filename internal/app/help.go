package app

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// flagGroups are the headings the configuration flags are listed under, in
// order; a flag no group names is listed under "Other".
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Accounts", []string{"sso-session", "sso-role", "sso-read-only-roles", "accounts", "org", "org-ttl", "org-role", "profiles", "exclude", "region"}},
	{"Credentials", []string{"profile", "role-name", "external-id", "session-name", "session-policy-arn", "denied-ttl"}},
	{"Safety", []string{"read-only", "allow-write-fanout", "allow-secret-fanout", "allow-changes"}},
	{"Upstream (the AWS MCP Server)", []string{"mcp-region", "endpoint", "signing-region", "timeout", "concurrency", "max-in-flight", "max-concurrency", "account-rps", "account-concurrency", "max-response-bytes"}},
	{"Answers", []string{"result-budget", "result-budget-max", "result-store-bytes", "result-ttl", "reply-within", "results-bucket", "results-prefix"}},
	{"Team server (serve --http)", []string{"http", "oidc-issuer", "oidc-audience", "oidc-client-id", "oidc-scope", "access-policy", "source-identity",
		"caller-fanouts", "drain", "body-timeout", "stateless", "tls-cert", "tls-key", "insecure-no-auth", "agentcore-runtime", "trust-runtime-user-id"}},
	{"Logging", []string{"log-level", "log-format"}},
}

// IsConfigFlag reports whether name is a configuration flag (one of the
// option table's), not a command's own.
func IsConfigFlag(name string) bool {
	return slices.ContainsFunc(options, func(o option) bool { return o.flag == name })
}

// PrintConfigFlags lists the configuration flags of fs under their
// headings, then the settings only the environment sets.
func PrintConfigFlags(w io.Writer, fs *flag.FlagSet) {
	listed := map[string]bool{}
	for _, g := range flagGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.flags {
			if f := fs.Lookup(name); f != nil {
				printFlag(w, f)
				listed[name] = true
			}
		}
	}
	var other []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if IsConfigFlag(f.Name) && !listed[f.Name] {
			other = append(other, f)
		}
	})
	if len(other) > 0 {
		fmt.Fprintf(w, "\nOther:\n")
		for _, f := range other {
			printFlag(w, f)
		}
	}
	fmt.Fprintf(w, "\nSet only in the environment:\n")
	for _, o := range options {
		if o.flag == "" {
			fmt.Fprintf(w, "  %s\n      %s\n", strings.Join(o.env, ", "), o.help)
		}
	}
}

// PrintOwnFlags lists the flags of fs that are not configuration flags.
func PrintOwnFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if !IsConfigFlag(f.Name) {
			printFlag(w, f)
		}
	})
}

// printFlag writes one flag on two lines: its name (and value's kind),
// then its help and default.
func printFlag(w io.Writer, f *flag.Flag) {
	kind, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if kind != "" {
		line += " " + kind
	}
	if def := f.DefValue; def != "" && def != "false" && def != "0" {
		if strings.ContainsAny(def, "\n\t") {
			def = strconv.Quote(def)
		}
		usage += " (default " + def + ")"
	}
	fmt.Fprintf(w, "%s\n      %s\n", line, usage)
}
