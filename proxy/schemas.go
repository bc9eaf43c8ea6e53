package proxy

// listAccountsOutputSchema describes AccountList.
const listAccountsOutputSchema = `{
  "type": "object",
  "properties": {
    "accounts": {"type": "array", "items": {"type": "object", "properties": {
      "id": {"type": "string"}, "name": {"type": "string"}, "source": {"type": "string"},
      "ou_path": {"type": "string"}, "ou_id": {"type": "string"},
      "tags": {"type": "object", "additionalProperties": {"type": "string"}},
      "role_name": {"type": "string"}, "regions": {"type": "array", "items": {"type": "string"}},
      "profile": {"type": "string"}
    }, "required": ["id", "name", "source"]}},
    "count": {"type": "integer"},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed; their accounts are missing."}
  },
  "required": ["accounts", "count"]
}`

// queryAllOutputSchema describes QueryAllResult (query_all, and get_result
// without account_id).
const queryAllOutputSchema = `{
  "type": "object",
  "properties": {
    "tool_name": {"type": "string"},
    "jmespath": {"type": "string", "description": "The projection applied to every answer."},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "account_id": {"type": "string"}, "name": {"type": "string"}, "region": {"type": "string"},
      "status": {"type": "string", "enum": ["success", "error", "pending"], "description": "pending: still running when the answer was given; get_result shows it once done."},
      "data": {"type": "object", "description": "The upstream tools/call result (content, structuredContent, isError), or its projection."},
      "data_omitted": {"type": "boolean", "description": "The data did not fit the budget; get_result with the summary's result_id reads it."},
      "bytes": {"type": "integer", "description": "Size of the answer left out."},
      "error": {"type": "string"},
      "error_code": {"type": "string"},
      "duration_ms": {"type": "integer"}
    }, "required": ["account_id", "name", "region", "status", "duration_ms"]}},
    "summary": {"type": "object", "properties": {
      "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
      "pending": {"type": "integer"}, "omitted": {"type": "integer", "description": "Successful entries whose data is not in this answer."},
      "listed": {"type": "integer", "description": "How many entries results holds, when the budget could not hold them all (the text names every account)."},
      "result_id": {"type": "string", "description": "Names the stored answers for get_result."},
      "accounts": {"type": "integer"}, "regions": {"type": "integer"},
      "concurrency": {"type": "integer"}, "duration_ms": {"type": "integer"}
    }, "required": ["total", "succeeded", "failed"]},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed (their accounts are missing), and accounts two sources both named."}
  },
  "required": ["tool_name", "results", "summary"]
}`
