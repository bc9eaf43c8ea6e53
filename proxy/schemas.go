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

// queryAllOutputSchema describes QueryAllResult.
const queryAllOutputSchema = `{
  "type": "object",
  "properties": {
    "tool_name": {"type": "string"},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "account_id": {"type": "string"}, "name": {"type": "string"}, "region": {"type": "string"},
      "status": {"type": "string", "enum": ["success", "error"]},
      "data": {"type": "object", "description": "The upstream tools/call result: content, structuredContent, isError."},
      "error": {"type": "string"},
      "error_code": {"type": "string"},
      "duration_ms": {"type": "integer"}
    }, "required": ["account_id", "name", "region", "status", "duration_ms"]}},
    "summary": {"type": "object", "properties": {
      "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
      "accounts": {"type": "integer"}, "regions": {"type": "integer"},
      "concurrency": {"type": "integer"}, "duration_ms": {"type": "integer"}
    }, "required": ["total", "succeeded", "failed"]},
    "warnings": {"type": "array", "items": {"type": "string"}, "description": "Account sources that failed; their accounts are missing."}
  },
  "required": ["tool_name", "results", "summary"]
}`
