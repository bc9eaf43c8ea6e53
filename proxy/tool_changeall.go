package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/proxy/plans"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
	"github.com/centralops/aws-mcp-multi-account/proxy/rollout"
)

const changeAllSchema = `{"type": "object", "properties": {
		"tool_name": {"type": "string", "description": "Upstream tool that makes the change, as list_tools names it (usually aws___run_script)."},
		"arguments": {"type": "object", "description": "Arguments of the upstream tool, the same in every account."},
		"region": {"type": "string", "description": "Target AWS region for every account (default: each account's default)."},
		"regions": {"type": "array", "items": {"type": "string"}, "description": "Several target regions: the change runs once per account and region."},` + selectorProperties + `,
		"rollout": {"type": "object", "additionalProperties": false, "description": "Rate controls, as Systems Manager and CloudFormation StackSets roll changes out.", "properties": {
			"canary": {"type": "integer", "minimum": 0, "description": "Targets that run first, alone, before any other (default 1)."},
			"max_concurrency": {"type": ["integer", "string"], "description": "Targets changed at once: a count (5) or a percentage of the targets (\"10%\", the default; at least 1)."},
			"max_errors": {"type": ["integer", "string"], "description": "Failure budget: once more targets than this have failed, no new target starts and the rest are skipped. A count or a percentage (default 0)."},
			"region_order": {"type": ["string", "array"], "items": {"type": "string"}, "description": "\"sequential\" (default: each region finishes before the next starts), \"parallel\", or the regions in the order they run."}
		}},
		"preview": {"type": "object", "additionalProperties": false, "required": ["tool_name"], "description": "A read-only tool call or script run first in every target under the read-only fan-out session; its answers go into the plan (\"these 37 buckets would be tagged\").", "properties": {
			"tool_name": {"type": "string"},
			"arguments": {"type": "object"},
			"jmespath": {"type": "string", "description": "Projects each target's preview answer."}
		}},` + budgetProperty + `
	}, "required": ["tool_name"], "additionalProperties": false}`

var changeAllArgs = schemaArgs(changeAllSchema)

// ChangeAllTool plans a change over the selected accounts and, with the
// human's yes, rolls it out.
func ChangeAllTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolChangeAll,
		"Change many accounts safely: plan one AWS MCP Server tool call (usually an aws___run_script script) over the selected "+
			"accounts (and regions), then roll it out with a canary, bounded concurrency and a failure budget. The call first "+
			"builds a plan (targets in order, the exact arguments and their SHA-256, the rollout, and the answers of an optional "+
			"read-only preview) under a change_id that only you can apply, once, within "+planLife+". If your client supports "+
			"elicitation, the human is asked to confirm and the change runs only on an explicit yes; otherwise nothing runs and "+
			"apply_change with the change_id runs exactly that plan (a different selection or argument needs a new plan). The canary "+
			"runs alone first; then at most max_concurrency targets at once; once more than max_errors have failed no new target "+
			"starts and the rest are skipped. Changes run with each role's own permissions (less secret reads), one audit line per target.",
		json.RawMessage(changeAllSchema))
	tool.Annotations = mcp.ToolAnnotation{Title: "Change many accounts", ReadOnlyHint: mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(true), IdempotentHint: mcp.ToBoolPtr(false), OpenWorldHint: mcp.ToBoolPtr(true)}
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		cr, budget, err := s.changeAllArgs(rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		if answer := server.ElicitationResponse(req.Params.InputResponses, confirmInput); answer != nil || req.Params.RequestState != "" {
			return s.confirmed(ctx, req, cr, answer, budget), nil
		}
		c, err := s.PlanChange(ctx, cr)
		if err != nil {
			return toolError(err), nil
		}
		if !s.canElicit(ctx, req) {
			return s.planResult(c, budget, ""), nil
		}
		return server.NewInputRequestBuilder(c.ID).Elicit(confirmInput, c.confirmation()).ToolResult(), nil
	}
}

// planLife is the life of a plan, as the descriptions say it.
var planLife = fmt.Sprintf("%d minutes", int(plans.DefaultTTL.Minutes()))

// confirmInput names the human's confirmation among a call's input responses.
const confirmInput = "confirm_change"

// canElicit reports whether the human can be asked through the client:
// it declared elicitation (https://modelcontextprotocol.io/specification/2025-06-18/client/elicitation),
// on this request (protocol 2026-07-28, whose multi round-trip requests
// need no session) or at initialize, and its session can carry the
// server's request.
func (s *Service) canElicit(ctx context.Context, req mcp.CallToolRequest) bool {
	if mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		caps := req.Params.Meta.ClientCapabilities()
		return caps != nil && caps.Elicitation != nil
	}
	if s.cfg.NoElicitation {
		return false
	}
	session := server.ClientSessionFromContext(ctx)
	info, ok := session.(server.SessionWithClientInfo)
	if !ok {
		return false
	}
	if _, ok := session.(server.SessionWithElicitation); !ok {
		return false
	}
	return info.GetClientCapabilities().Elicitation != nil
}

// confirmation is the form the human answers: what will run where, and
// a confirmation field.
func (c *Change) confirmation() mcp.ElicitationParams {
	return mcp.ElicitationParams{Mode: mcp.ElicitationModeForm, Message: c.Question(), RequestedSchema: map[string]any{
		"type": "object",
		"properties": map[string]any{
			"confirm": map[string]any{"type": "boolean", "title": "Run this change",
				"description": fmt.Sprintf("Run %s in %s (%s)", c.ToolName, results.Plural(c.Accounts, "account"), results.Plural(c.TargetCount, "target"))},
		},
		"required": []string{"confirm"},
	}}
}

// confirmed acts on the human's answer to a plan's confirmation (the
// call's retry, its request state the change_id): an explicit yes runs the
// plan, anything else discards it. The retry must be the call planned.
func (s *Service) confirmed(ctx context.Context, req mcp.CallToolRequest, cr ChangeRequest, answer *mcp.ElicitationResult, budget int) *mcp.CallToolResult {
	id := req.Params.RequestState
	action, confirm := mcp.ElicitationResponseActionCancel, false
	if answer != nil {
		action = answer.Action
		if m, ok := answer.Content.(map[string]any); ok {
			confirm, _ = m["confirm"].(bool)
		}
	}
	c, release, err := s.takePlan(ctx, id)
	if err != nil {
		return toolError(err)
	}
	defer release()
	s.log.Info("change answered", append(s.changeAttrs(ctx, c), "action", string(action), "confirmed", confirm)...)
	if argumentsHash(cr.ToolName, compactJSON(cr.Arguments)) != c.ArgumentsSHA256 {
		return toolError(fmt.Errorf("%w: the confirmed call is not the one planned as %s (another tool or other arguments); nothing ran, make a new plan", ErrChangesRefused, id))
	}
	if action == mcp.ElicitationResponseActionCancel {
		// Dismissed, or a client that cannot ask (Claude Code's headless
		// mode answers cancel at once): the plan stays for apply_change,
		// whose own permission prompt is then the human's yes.
		s.changes.Restore(ownerOf(ctx), c.ID, c)
		s.log.Info("change kept for apply_change", s.changeAttrs(ctx, c)...)
		return s.planResult(c, budget, fmt.Sprintf("The question about change %s was dismissed (not declined): nothing has run, and the plan is kept.", c.ID))
	}
	if action != mcp.ElicitationResponseActionAccept || !confirm {
		what := "declined"
		if action == mcp.ElicitationResponseActionAccept {
			what = "accepted without the confirmation"
		}
		return structuredResult(map[string]string{"change_id": c.ID, "outcome": what,
			"note": fmt.Sprintf("Change %s was %s by the human: nothing ran in any account, and the plan is discarded.", c.ID, what)})
	}
	notes := progressNotifier(ctx, req)
	defer notes.close()
	out, err := s.runPlanned(ctx, c, notes.progress(), nil)
	if err != nil {
		return toolError(err)
	}
	return s.changeResult(ctx, c, out, budget)
}

// Question is what the human is asked: what will run where, and how.
func (c *Change) Question() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s?\n", c.what())
	b.WriteString(c.rolloutLine() + "\n")
	fmt.Fprintf(&b, "Arguments (sha256 %s): %s\n", c.ArgumentsSHA256[:12], results.Clip(string(c.Arguments), 1500))
	b.WriteString("Targets: " + c.targetList(1500) + "\n")
	if c.Preview != nil {
		fmt.Fprintf(&b, "Preview: %d of %d succeeded", c.Preview.Summary.Succeeded, c.Preview.Summary.Total)
		if c.Preview.Summary.ResultID != "" {
			fmt.Fprintf(&b, " (result_id %s)", c.Preview.Summary.ResultID)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// what says what runs where: "aws___run_script in 12 accounts (12
// targets, us-east-1)".
func (c *Change) what() string {
	return fmt.Sprintf("%s in %s (%s, %s)", c.ToolName, results.Plural(c.Accounts, "account"),
		results.Plural(c.TargetCount, "target"), strings.Join(c.Regions, ", "))
}

// rolloutLine says how the change rolls out.
func (c *Change) rolloutLine() string {
	b := c.Bounds
	var parts []string
	if b.Canary > 0 {
		parts = append(parts, fmt.Sprintf("canary %d (runs first, alone)", b.Canary))
	}
	parts = append(parts, fmt.Sprintf("then at most %d at once (max_concurrency %s)", b.MaxConcurrency, c.Rollout.MaxConcurrency),
		fmt.Sprintf("no new target once more than %d failed (max_errors %s)", b.MaxErrors, c.Rollout.MaxErrors))
	if len(c.Regions) > 1 {
		parts = append(parts, "regions "+c.Rollout.RegionOrder)
	}
	return "Rollout: " + strings.Join(parts, "; ") + "."
}

// targetList names the targets in order within about room bytes.
func (c *Change) targetList(room int) string {
	var b strings.Builder
	for i, t := range c.targets {
		item := t.acct.ID + " " + t.acct.Name + " " + t.region
		if i < c.Bounds.Canary {
			item += " (canary)"
		}
		if b.Len()+len(item) > room {
			fmt.Fprintf(&b, "… and %d more", len(c.targets)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(item)
	}
	return b.String()
}

// planView is a plan as the model reads it: what to do with it first.
type planView struct {
	Note string `json:"note"`
	*Change
	// Preview is the preview's reply, fitted to half the budget.
	Preview json.RawMessage `json:"preview,omitempty"`
}

// planResult shows the plan; nothing has run. lead, when not "", says why
// the plan is shown.
func (s *Service) planResult(c *Change, budget int, lead string) *mcp.CallToolResult {
	view := planView{Change: &Change{}}
	*view.Change = *c
	if c.Preview != nil {
		view.Preview = s.render(c.Preview, budget/2, false).JSON
	}
	room := max(budget/4, 1024)
	size := 0
	view.Targets = nil
	for _, t := range c.Targets {
		if size += len(t.AccountID) + len(t.Name) + len(t.Region) + 64; size > room {
			break
		}
		view.Targets = append(view.Targets, t)
	}
	if len(view.Targets) < len(c.Targets) {
		view.Listed = len(view.Targets)
	}
	view.Arguments = json.RawMessage(results.Marshal(results.Clip(string(c.Arguments), budget/8)))
	if len(c.Arguments) <= budget/8 {
		view.Arguments = c.Arguments
	}
	var b strings.Builder
	if lead != "" {
		b.WriteString(lead + " ")
	}
	fmt.Fprintf(&b, "Plan %s (single use, yours only, until %s): %s. Nothing has run. %s Show this plan to the human; only if they agree, call apply_change {\"change_id\": %q}: it runs exactly this plan, once.",
		c.ID, c.ExpiresAt.UTC().Format("15:04:05Z"), c.what(), c.rolloutLine(), c.ID)
	view.Note = b.String()
	return structuredResult(view)
}

// changeResult shows a change's outcome as query_all shows a fan-out's,
// its summary line naming the change.
func (s *Service) changeResult(ctx context.Context, c *Change, a *results.Answer, budget int) *mcp.CallToolResult {
	head := fmt.Sprintf("Change %s (%s, arguments sha256 %s): %d of %d succeeded, %d failed, %d skipped.",
		c.ID, c.ToolName, c.ArgumentsSHA256[:12], a.Summary.Succeeded, a.Summary.Total, a.Summary.Failed, a.Summary.Skipped)
	r := s.render(a, budget-len(head), !rendersApps(ctx))
	r.Reply.Summary.Text = head + " " + r.Reply.Summary.Text
	return jsonResult(results.Marshal(r.Reply), r.Links...)
}

func (s *Service) changeAllArgs(raw json.RawMessage) (ChangeRequest, int, error) {
	var cr ChangeRequest
	args, err := ParseArgs(raw, changeAllArgs...)
	if err != nil {
		return cr, 0, err
	}
	if cr.ToolName, err = args.String("tool_name", true); err != nil {
		return cr, 0, err
	}
	if cr.Arguments, err = args.Object("arguments"); err != nil {
		return cr, 0, err
	}
	if cr.Region, err = args.String("region", false); err != nil {
		return cr, 0, err
	}
	if cr.Regions, err = args.Strings("regions"); err != nil {
		return cr, 0, err
	}
	if cr.Selector, err = selectorArgs(args); err != nil {
		return cr, 0, err
	}
	if cr.Rollout, err = rolloutArg(args["rollout"]); err != nil {
		return cr, 0, fmt.Errorf("rollout: %w", err)
	}
	if args.present("preview") {
		var pv Preview
		dec := json.NewDecoder(strings.NewReader(string(args["preview"])))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pv); err != nil {
			return cr, 0, fmt.Errorf("preview must be {tool_name, arguments?, jmespath?}: %w", err)
		}
		if pv.ToolName == "" {
			return cr, 0, errors.New("preview needs a tool_name")
		}
		cr.Preview = &pv
	}
	budget, err := s.budgetArg(args)
	return cr, budget, err
}

// rolloutArg reads the rollout argument over the defaults.
func rolloutArg(raw json.RawMessage) (rollout.Options, error) {
	o := rollout.Defaults()
	if !hasJSON(raw) {
		return o, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return o, fmt.Errorf("must be an object: %w", err)
	}
	for k, v := range fields {
		var err error
		switch k {
		case "canary":
			n, ok := v.(float64)
			if !ok || n < 0 || n != float64(int(n)) {
				return o, fmt.Errorf("canary must be a whole number of targets, not %v", v)
			}
			o.Canary = int(n)
		case "max_concurrency":
			o.MaxConcurrency, err = rollout.ParseLimit(v)
		case "max_errors":
			o.MaxErrors, err = rollout.ParseLimit(v)
		case "region_order":
			switch x := v.(type) {
			case string:
				o.RegionOrder = strings.ToLower(x)
			case []any:
				for _, r := range x {
					name, ok := r.(string)
					if !ok {
						return o, errors.New("region_order lists region names")
					}
					o.Regions = append(o.Regions, name)
				}
			default:
				return o, errors.New(`region_order is "sequential", "parallel" or a list of regions`)
			}
		default:
			return o, fmt.Errorf("unknown field %q (canary, max_concurrency, max_errors, region_order)", k)
		}
		if err != nil {
			return o, fmt.Errorf("%s: %w", k, err)
		}
	}
	return o, o.Validate()
}
