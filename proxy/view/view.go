// Package view is the MCP App of a fan-out (extension
// io.modelcontextprotocol/ui, spec 2026-01-26,
// https://github.com/modelcontextprotocol/ext-apps/blob/main/specification/2026-01-26/apps.mdx):
// one self-contained HTML document that hosts such as Claude Desktop,
// claude.ai, VS Code and ChatGPT render beside a query_all, get_result or
// apply_change result. It is built from ui/ (npm run build there) and
// committed, so go build needs no Node; CI rebuilds it and fails when the
// committed file is stale.
package view

import _ "embed"

// Extension is the MCP Apps extension's identifier, in the server's and
// the client's capabilities.
const Extension = "io.modelcontextprotocol/ui"

// URI is the view's resource; MIMEType is what resources/read answers it
// with.
const (
	URI      = "ui://aws-mcp-multi-account/fanout.html"
	MIMEType = "text/html;profile=mcp-app"
)

// HTML is the built view.
//
//go:embed fanout.html
var HTML string

// MaxBytes bounds the view: hosts load it whole into an iframe.
const MaxBytes = 1 << 20
