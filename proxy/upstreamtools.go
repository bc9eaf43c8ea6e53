package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/guard"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// classify reports whether a call of tool with args is read-only, and
// refuses a tool the upstream does not list. For aws___call_aws the CLI
// command decides; other tools are read-only when the upstream annotates
// them readOnlyHint: true. The upstream's tools are listed once per
// process, through one of the selected accounts. When they cannot be
// listed, an IAM-bounded tool goes on (each account then reports its own
// failure) and another counts as a write, or is an error when need is set.
func (s *Service) classify(ctx context.Context, selected []accounts.Account, tool string, args json.RawMessage, need, fanout bool) (bool, error) {
	tools, listErr := s.cachedTools(ctx, selected, fanout)
	if listErr == nil {
		if _, ok := tools[tool]; !ok {
			return false, notListed(tool, tools)
		}
	}
	if tool == CallAWSTool {
		return guard.ReadOnlyArguments(args), nil
	}
	if listErr != nil {
		if need && !iamBounded(tool) {
			return false, fmt.Errorf("cannot tell whether %s is read-only: %w", tool, listErr)
		}
		return false, nil
	}
	return readOnlyHint(tools[tool]), nil
}

// notListed names what the upstream offers instead of tool.
func notListed(tool string, tools map[string]mcp.Tool) error {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	if tool == CallAWSTool {
		if _, ok := tools[RunScriptTool]; ok {
			return fmt.Errorf("%w: %s was removed from the AWS MCP Server on 2026-08-31; use %s, a Python script that calls AWS with await call_boto3(service_name=..., operation_name=..., params=...), e.g. %s",
				ErrToolNotListed, CallAWSTool, RunScriptTool, exampleArguments)
		}
	}
	return fmt.Errorf("%w: the AWS MCP Server has no tool %q; it offers %s (list_tools describes them)", ErrToolNotListed, tool, strings.Join(names, ", "))
}

// exampleArguments is a run_script call fit for every account: the answer
// is the last expression, and query_all's jmespath applies to it.
const exampleArguments = `{"code": "resp = await call_boto3(service_name='ec2', operation_name='DescribeInstances')\nresp"}`

// cachedTools returns the upstream's tools by name, listing them once per
// process through the first of candidates that answers, with the session
// policy a call (of a fan-out, or not) will carry there (so a fan-out assumes no extra
// role).
func (s *Service) cachedTools(ctx context.Context, candidates []accounts.Account, fanout bool) (map[string]mcp.Tool, error) {
	return s.tools.load(ctx, func(ctx context.Context) ([]mcp.Tool, error) {
		var lastErr error
		for i, a := range candidates {
			if i == 3 {
				break
			}
			tools, err := s.fetchTools(ctx, a, s.signingPolicy(ctx, a, fanout))
			if err == nil {
				return tools, nil
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = errors.New("no account to list the upstream tools with")
		}
		return nil, lastErr
	})
}

// fetchTools lists the upstream tools through one account.
func (s *Service) fetchTools(ctx context.Context, a accounts.Account, p SessionPolicy) ([]mcp.Tool, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	target, _, err := s.credentials(ctx, a, p)
	if err != nil {
		return nil, fmt.Errorf("account %s: %s", a.ID, s.describeError(ctx, err, time.Since(start)))
	}
	tools, err := s.pool.ListTools(upstream.WithTenant(ctx, ownerOf(ctx)), target)
	if err != nil {
		return nil, fmt.Errorf("account %s: %s", a.ID, s.describeError(ctx, err, time.Since(start)))
	}
	return tools, nil
}

// toolsThrough returns the upstream's tools as seen through one account: the
// given one, or the first configured. It refreshes the cache.
func (s *Service) toolsThrough(ctx context.Context, accountID string) ([]mcp.Tool, accounts.Account, error) {
	var acct accounts.Account
	if accountID != "" {
		a, err := s.lookup(ctx, accountID)
		if err != nil {
			return nil, acct, err
		}
		acct = a
	} else {
		all, _, err := s.listAccounts(ctx)
		if err != nil {
			return nil, acct, err
		}
		if all, err = s.inScope(ctx, all); err != nil {
			return nil, acct, err
		}
		if len(all) == 0 {
			return nil, acct, errors.New("no accounts are configured")
		}
		acct = all[0]
	}
	tools, err := s.fetchTools(ctx, acct, s.signingPolicy(ctx, acct, false))
	if err != nil {
		return nil, acct, err
	}
	s.tools.set(tools)
	return tools, acct, nil
}

// WarmTools lists the upstream's tools through the first reachable
// account (in the session a fan-out of aws___run_script uses there), so
// that tool descriptions and instructions can name what the upstream
// offers. A failure is logged; the next call that needs the list tries
// again.
//
// On a shared server it lists through an account the context's caller may
// reach, with the caller's own credentials, never through another's.
func (s *Service) WarmTools(ctx context.Context) {
	all, _, err := s.listAccounts(ctx)
	if err == nil {
		all, err = s.inScope(ctx, all)
	}
	if err == nil && len(all) == 0 {
		err = errors.New("no accounts are configured")
	}
	if err == nil {
		_, err = s.cachedTools(ctx, all, true)
	}
	if err != nil {
		s.log.Debug("cannot list the upstream tools yet", "error", err)
	}
}

// warmWait bounds how long a tools/list waits for the upstream's tools.
const warmWait = 3 * time.Second
