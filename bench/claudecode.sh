#!/usr/bin/env bash
# Looks at our answers through real clients: Claude Code headless (what its
# model receives, per tool call) and the official TypeScript SDK client
# (every structuredContent validated against its output schema), both
# against `demo --serve`. Installs both from npm into a cache directory.
# Not part of `go test ./...`; its numbers go in BENCHMARKS.md.
#
# Usage: bench/claudecode.sh [-progress-runs N] [-json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
MCP_SDK_VERSION="${MCP_SDK_VERSION:-1.32.2}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/aws-mcp-multi-account/clients"
mkdir -p "$cache"
if [ ! -f "$cache/node_modules/@anthropic-ai/claude-code/package.json" ] ||
  ! grep -q "\"version\": \"$CLAUDE_CODE_VERSION\"" "$cache/node_modules/@anthropic-ai/claude-code/package.json" ||
  [ ! -d "$cache/node_modules/@modelcontextprotocol/sdk" ]; then
  npm install --prefix "$cache" --no-audit --no-fund --silent \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@modelcontextprotocol/sdk@$MCP_SDK_VERSION" >&2
fi
claude=$(find "$cache/node_modules/@anthropic-ai" -path '*claude-code-linux-*/claude' -type f 2>/dev/null | head -1)
[ -x "$claude" ] || claude="$cache/node_modules/.bin/claude"

bin=$(mktemp -d)/aws-mcp-multi-account
go build -o "$bin" .
echo "== the TypeScript SDK client ($MCP_SDK_VERSION)"
cp bench/clients/*.mjs "$cache/" # ES modules resolve packages from the script's folder
node "$cache/tssdk-check.mjs" "$bin"
fakeserver=$(dirname "$bin")/fakeserver
go build -o "$fakeserver" ./bench/fakeserver
node "$cache/tssdk-org.mjs" "$bin" "$fakeserver"
node "$cache/tssdk-notkept.mjs" "$bin" "$fakeserver"
node "$cache/tssdk-listaccounts.mjs" "$bin"
node "$cache/tssdk-progress.mjs" "$bin" "$fakeserver" "${PROGRESS_FANOUTS:-200}"
echo
echo "== Claude Code ($CLAUDE_CODE_VERSION), headless"
go run ./bench/cmd/claudecode -claude "$claude" "$@"
echo
echo "== Claude Code, list_accounts over 10,000 accounts"
go run ./bench/cmd/claudecode -claude "$claude" -list-accounts 10000
