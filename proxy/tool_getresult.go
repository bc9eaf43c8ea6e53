package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// GetResultRequest reads a stored result.
type GetResultRequest struct {
	ResultID string
	// AccountID (and Region, when the account was queried in several)
	// selects one answer, read in pages from Offset; without it every
	// answer is rendered again.
	AccountID, Region string
	JMESPath          string
	Offset            int
	HasOffset         bool
	// Raw reads the upstream's whole tools/call result as the store keeps
	// it, instead of the answer.
	Raw bool
	// Budget bounds the answer's text (a page, or the rendering).
	Budget int
}

// StoredAnswer is one account's stored answer, or a page of it.
type StoredAnswer struct {
	ResultID   string `json:"result_id"`
	AccountID  string `json:"account_id"`
	Name       string `json:"name"`
	Region     string `json:"region"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	JMESPath   string `json:"jmespath,omitempty"`
	// Raw says the answer is the upstream's whole tools/call result.
	Raw bool `json:"raw,omitempty"`
	// Bytes is the whole answer's length. Data is the answer when this
	// page holds all of it; otherwise Text holds bytes Offset to
	// NextOffset (absent on the last page) of its JSON.
	Bytes      int             `json:"bytes"`
	Offset     int             `json:"offset"`
	NextOffset *int            `json:"next_offset,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Text       string          `json:"text,omitempty"`
	// Note says why there is no answer, or how to read the next page.
	Note string `json:"note,omitempty"`
}

// Answer returns the bytes of the answer this page holds.
func (a *StoredAnswer) Answer() string {
	if a.Data != nil {
		return string(a.Data)
	}
	return a.Text
}

// GetResult reads a stored result without calling AWS: one account's
// answer (*StoredAnswer) or every answer again (*results.Answer), projected
// with the request's JMESPath.
func (s *Service) GetResult(ctx context.Context, req GetResultRequest) (any, error) {
	if s.store == nil {
		why := s.cfg.NotKept
		if why == "" {
			why = "no result store is configured"
		}
		return nil, fmt.Errorf("%w (%s): run the query again, narrower", ErrNoStore, why)
	}
	proj, err := results.Compile(req.JMESPath)
	if err != nil {
		return nil, err
	}
	if req.Budget <= 0 {
		req.Budget = s.cfg.ResultBudget
	}
	owner := ownerOf(ctx)
	if !results.ValidID(req.ResultID) {
		return nil, &results.LookupError{ID: req.ResultID, Reason: "unknown", TTL: s.storeTTL()}
	}
	if req.Raw && proj != nil {
		return nil, errors.New("raw reads the upstream's result as it was kept: give either raw or jmespath, not both")
	}
	if req.AccountID == "" {
		if req.HasOffset || req.Region != "" || req.Raw {
			return nil, errors.New("offset, region and raw read one account's answer: give account_id too")
		}
		rec, err := s.store.Get(ctx, owner, req.ResultID, true)
		if err != nil {
			return nil, err
		}
		return reread(rec, proj), nil
	}
	rec, err := s.store.Get(ctx, owner, req.ResultID, false)
	if err != nil {
		return nil, err
	}
	i, err := rec.Find(req.AccountID, req.Region)
	if err != nil {
		return nil, err
	}
	e := rec.Answer.Results[i]
	if e.Finished() {
		if e, err = s.store.Entry(ctx, owner, req.ResultID, i); err != nil {
			return nil, err
		}
	}
	return page(rec, e, proj, req), nil
}

// storeTTL names how long results are kept, for errors.
func (s *Service) storeTTL() time.Duration {
	if t, ok := s.store.(interface{ TTL() time.Duration }); ok {
		return t.TTL()
	}
	return results.DefaultTTL
}

// reread renders a stored result again, projected, with its pending
// entries as they stand.
func reread(rec *results.Record, proj *results.Projection) *results.Answer {
	a := rec.Answer
	a.JMESPath = proj.String()
	a.Results = make([]results.Entry, len(rec.Answer.Results))
	for i, e := range rec.Answer.Results {
		if e.Status == StatusPending {
			e.DurationMS = time.Since(rec.Created).Milliseconds()
		}
		if e.ErrorCode == CodeToolError {
			e.Data = nil
		}
		a.Results[i] = e
	}
	proj.Entries(a.Results)
	a.Count()
	a.Summary.ResultID = rec.ID
	return &a
}

// page returns bytes Offset.. of one account's answer, at most Budget of
// them, cut on a rune boundary; a page that holds the whole answer holds
// it as JSON.
func page(rec *results.Record, e results.Entry, proj *results.Projection, req GetResultRequest) *StoredAnswer {
	out := &StoredAnswer{ResultID: rec.ID, AccountID: e.AccountID, Name: e.Name, Region: e.Region, Status: e.Status,
		Error: e.Error, ErrorCode: e.ErrorCode, DurationMS: e.DurationMS, JMESPath: proj.String(), Offset: req.Offset, Raw: req.Raw}
	switch {
	case e.Status == StatusPending:
		out.DurationMS = time.Since(rec.Created).Milliseconds()
		out.Note = fmt.Sprintf("Account %s (%s) in %s is still running (for %s); call get_result again later.",
			e.AccountID, e.Name, e.Region, time.Duration(out.DurationMS)*time.Millisecond)
		return out
	case e.Data == nil && !req.Raw && e.Value() == nil, req.Raw && e.Data == nil:
		out.Note = fmt.Sprintf("Account %s (%s) in %s failed: %s: %s", e.AccountID, e.Name, e.Region, e.ErrorCode, e.Error)
		return out
	}
	var text string
	switch {
	case req.Raw:
		text = string(e.Data)
	case proj != nil:
		projected := proj.Entry(e)
		if projected.Status != StatusSuccess || projected.Value() == nil {
			out.Status, out.ErrorCode, out.Error = projected.Status, projected.ErrorCode, projected.Error
			out.Note = fmt.Sprintf("Account %s (%s) in %s: %s: %s", e.AccountID, e.Name, e.Region, projected.ErrorCode, projected.Error)
			return out
		}
		text = string(projected.Value())
	default:
		text = string(e.Value())
	}
	out.Bytes = len(text)
	start := runeStart(text, min(req.Offset, len(text)))
	out.Offset = start
	end := runeStart(text, start+pageBytes(text[start:], req.Budget))
	if end == start && start < len(text) {
		_, size := utf8.DecodeRuneInString(text[start:]) // one rune at least
		end = start + size
	}
	if start == 0 && end == len(text) && json.Valid([]byte(text)) {
		out.Data = json.RawMessage(text)
		return out
	}
	out.Text = text[start:end]
	if end < len(text) {
		next := end
		out.NextOffset = &next
		out.Note = fmt.Sprintf("bytes %d to %d of %d; the next page: get_result {\"result_id\": %q, \"account_id\": %q, \"region\": %q, \"offset\": %d%s%s}",
			start, end, len(text), rec.ID, e.AccountID, e.Region, next, jmespathArg(proj.String()), rawArg(req.Raw))
	}
	return out
}

// pageBytes is how much of text a page may carry: the budget less room for
// the page's other fields, less again when the text escapes to much more
// JSON.
func pageBytes(text string, budget int) int {
	n := min(len(text), budget)
	for n > 0 {
		if len(results.Marshal(text[:runeStart(text, n)]))+768 <= budget {
			return n
		}
		n = n * 3 / 4
	}
	return n
}

func rawArg(raw bool) string {
	if raw {
		return `, "raw": true`
	}
	return ""
}

// getResultSchema is the input schema of the tool; its properties are the
// arguments it takes.
const getResultSchema = `{"type": "object", "properties": {
		"result_id": {"type": "string", "description": "The result_id an answer of query or query_all named."},
		"account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": "Read this account's answer (default: every account's)."},
		"region": {"type": "string", "description": "The region of the account's answer, when it was queried in several."},` + jmespathProperty + `,
		"offset": {"type": "integer", "description": "Byte offset of the page to read in the account's answer (default 0; next_offset of the previous page)."},
		"raw": {"type": "boolean", "description": "With account_id: the upstream's whole tools/call result as it was kept (a script's envelope with its api_calls), instead of the answer."},` + budgetProperty + `
	}, "required": ["result_id"], "additionalProperties": false}`

var getResultArgs = schemaArgs(getResultSchema)

// GetResultTool reads stored results.
func GetResultTool(s *Service) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewToolWithRawSchema(ToolGetResult,
		"Read a stored answer of query or query_all by its result_id, without calling AWS again. With account_id "+
			"(and region, when the account was queried in several): that account's whole answer, byte for byte, in pages "+
			"(offset; each page names next_offset while more remains); a page that holds the whole answer holds it as JSON in data; raw reads the upstream's whole result instead. Without account_id: every account's answer again, "+
			"with the accounts that were still pending as they stand now. jmespath re-projects the stored answers (AWS "+
			"CLI --query semantics), so a new question about the same data costs no AWS call. The same answers are "+
			"resources: "+resultURIPrefix+"{result_id}/{account_id}/{region}.",
		json.RawMessage(getResultSchema))
	tool.Annotations = annotations("Read a stored result", true)
	return tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		out, budget, err := s.runGetResult(ctx, rawArguments(req))
		if err != nil {
			return toolError(err), nil
		}
		if all, ok := out.(*results.Answer); ok {
			return s.AnswerResult(ctx, all, budget), nil
		}
		return storedAnswerResult(out.(*StoredAnswer)), nil
	}
}

func (s *Service) runGetResult(ctx context.Context, raw json.RawMessage) (any, int, error) {
	args, err := ParseArgs(raw, getResultArgs...)
	if err != nil {
		return nil, 0, err
	}
	var req GetResultRequest
	if req.ResultID, err = args.String("result_id", true); err != nil {
		return nil, 0, err
	}
	if args.present("account_id") {
		if req.AccountID, err = args.AccountID("account_id"); err != nil {
			return nil, 0, err
		}
		if !accounts.ValidID(req.AccountID) {
			return nil, 0, fmt.Errorf("account_id %q is not a 12-digit account id", req.AccountID)
		}
	}
	if req.Region, err = args.String("region", false); err != nil {
		return nil, 0, err
	}
	if req.JMESPath, err = args.String("jmespath", false); err != nil {
		return nil, 0, err
	}
	offset, given, err := args.Int("offset")
	if err != nil {
		return nil, 0, err
	}
	if offset < 0 || offset > 1<<40 {
		return nil, 0, fmt.Errorf("offset %d: want a byte offset of 0 or more", offset)
	}
	req.Offset, req.HasOffset = int(offset), given
	if req.Raw, err = args.Bool("raw"); err != nil {
		return nil, 0, err
	}
	if req.Budget, err = s.budgetArg(args); err != nil {
		return nil, 0, err
	}
	out, err := s.GetResult(ctx, req)
	if err == nil {
		if one, ok := out.(*StoredAnswer); ok && req.HasOffset && req.Offset > one.Bytes && one.Bytes > 0 {
			return nil, 0, fmt.Errorf("offset %d is past the end of the answer (%d bytes)", req.Offset, one.Bytes)
		}
	}
	return out, req.Budget, err
}

// storedAnswerResult shows a page as JSON, the same as text.
func storedAnswerResult(a *StoredAnswer) *mcp.CallToolResult {
	return structuredResult(a)
}

func jmespathArg(expr string) string {
	if expr == "" {
		return ""
	}
	raw, _ := json.Marshal(expr)
	return `, "jmespath": ` + string(raw)
}

// ResultTemplate serves stored answers as resources:
// awsmcp://results/{result_id}/{account_id}/{region}.
func ResultTemplate(s *Service) (mcp.ResourceTemplate, server.ResourceTemplateHandlerFunc) {
	tmpl := mcp.NewResourceTemplate(resultURIPrefix+"{result_id}/{account_id}/{region}", "stored-answer",
		mcp.WithTemplateTitle("A stored answer of one account"),
		mcp.WithTemplateDescription("The whole answer one account gave to a query or query_all, as stored under its result_id (no AWS call)."),
		mcp.WithTemplateMIMEType("application/json"))
	return tmpl, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		parts := strings.Split(strings.TrimPrefix(req.Params.URI, resultURIPrefix), "/")
		if !strings.HasPrefix(req.Params.URI, resultURIPrefix) || len(parts) != 3 {
			return nil, fmt.Errorf("%s: want %s{result_id}/{account_id}/{region}", req.Params.URI, resultURIPrefix)
		}
		out, err := s.GetResult(ctx, GetResultRequest{ResultID: parts[0], AccountID: parts[1], Region: parts[2], Budget: math.MaxInt32})
		if err != nil {
			return nil, err
		}
		a := out.(*StoredAnswer)
		mime, text := "application/json", a.Answer()
		if a.Data == nil {
			mime, text = "text/plain", a.Note
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: mime, Text: text}}, nil
	}
}

// invokeGetResult is get_result for the Lambda bridge.
func invokeGetResult(ctx context.Context, s *Service, args json.RawMessage, _ Progress) (any, error) {
	out, budget, err := s.runGetResult(ctx, args)
	if err != nil {
		return nil, err
	}
	if all, ok := out.(*results.Answer); ok {
		return s.fitAnswer(all, budget), nil
	}
	return out, nil
}
