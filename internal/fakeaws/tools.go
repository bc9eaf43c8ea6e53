package fakeaws

// Tool names of the fake AWS MCP Server, as the real one names them.
const (
	ToolRunScript          = "aws___run_script"
	ToolGetTasks           = "aws___get_tasks"
	ToolGetPresignedURL    = "aws___get_presigned_url"
	ToolSearchDocs         = "aws___search_documentation"
	ToolReadDocs           = "aws___read_documentation"
	ToolRetrieveSkill      = "aws___retrieve_skill"
	ToolListRegions        = "aws___list_regions"
	ToolRegionalAvailable  = "aws___get_regional_availability"
	ToolCallAWS            = "aws___call_aws"
	ToolSuggestAWSCommands = "aws___suggest_aws_commands"
	// ToolPutThing is a write tool without a read-only annotation, for
	// guard tests (in ToolsBefore20260831 only).
	ToolPutThing = "aws___put_thing"
)

// ToolList is which tools/list the fake AWS MCP Server answers.
type ToolList int

const (
	// ToolsToday is the AWS MCP Server's list since aws___call_aws was
	// removed on 2026-08-31: run_script, get_tasks, get_presigned_url,
	// search/read documentation, retrieve_skill, list_regions and
	// get_regional_availability (Agent Toolkit for AWS user guide,
	// https://docs.aws.amazon.com/agent-toolkit/latest/userguide/understanding-mcp-server-tools.html).
	ToolsToday ToolList = iota
	// ToolsBefore20260831 is the list with aws___call_aws and
	// aws___suggest_aws_commands (and the fake's aws___put_thing), for the
	// tests written against it.
	ToolsBefore20260831
)

// removedCallAWS is the JSON-RPC error message the AWS MCP Server answers
// for a tools/call of aws___call_aws since its removal.
const removedCallAWS = "The call_aws tool has been removed, use another one."

// toolDefinitions is what tools/list answers.
func toolDefinitions(list ToolList) []map[string]any {
	def := func(name, desc string, readOnly bool, props map[string]any, required ...string) map[string]any {
		schema := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			schema["required"] = required
		}
		return map[string]any{
			"name": name, "description": desc, "inputSchema": schema,
			"annotations": map[string]any{"readOnlyHint": readOnly, "destructiveHint": !readOnly, "openWorldHint": true},
		}
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	docs := []map[string]any{
		def(ToolSearchDocs, "Search AWS documentation.", true,
			map[string]any{"search_phrase": str("Words to search for."), "limit": map[string]any{"type": "integer"}}, "search_phrase"),
		def(ToolReadDocs, "Read an AWS documentation page as markdown.", true,
			map[string]any{"url": str("Documentation URL.")}, "url"),
		def(ToolListRegions, "List the AWS regions enabled for the account.", true, map[string]any{}),
	}
	if list == ToolsBefore20260831 {
		return append([]map[string]any{
			def(ToolCallAWS, "Execute an AWS CLI command in the caller's account and return its output.", false,
				map[string]any{"cli_command": str("The complete AWS CLI command, starting with 'aws'."), "max_results": map[string]any{"type": "integer"}}, "cli_command"),
			def(ToolSuggestAWSCommands, "Suggest AWS CLI commands for a task described in natural language.", true,
				map[string]any{"query": str("What you want to do.")}, "query"),
		}, append(docs,
			def(ToolPutThing, "Create or replace a thing (a write tool, for tests).", false,
				map[string]any{"name": str("Name of the thing.")}, "name"))...)
	}
	return append([]map[string]any{
		def(ToolRunScript, "Run a Python script in a sandbox. AWS is reachable only through "+
			"`await call_boto3(service_name=..., operation_name=..., region_name=None, params=None)` "+
			"(operation names in PascalCase, e.g. DescribeInstances); the value of the last expression is returned. "+
			"Long scripts answer with a task_id: poll aws___get_tasks.", false,
			map[string]any{"code": str("Python code to run.")}, "code"),
		def(ToolGetTasks, "Poll status of long-running tasks. Up to 3 IDs per call. Tasks expire after 5 min. "+
			"Pass poll_iteration (start at 1) and follow recommended_wait_seconds.", true,
			map[string]any{"task_ids": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "maxItems": 3},
				"poll_iteration": map[string]any{"type": "integer"}}, "task_ids"),
		def(ToolGetPresignedURL, "Create a presigned URL for an S3 object.", false,
			map[string]any{"bucket": str("Bucket."), "key": str("Object key."), "expires_in": map[string]any{"type": "integer"}}, "bucket", "key"),
	}, append(docs,
		def(ToolRetrieveSkill, "Retrieve an AWS skill by name.", true,
			map[string]any{"skill_name": str("Skill name.")}, "skill_name"),
		def(ToolRegionalAvailable, "Tell which regions offer a service, API or CloudFormation resource.", true,
			map[string]any{"resource_type": str("api, cfn or product."), "filters": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}, "resource_type"))...)
}

// toolNames returns the names of a tool list's definitions.
func toolNames(defs []map[string]any) map[string]bool {
	out := make(map[string]bool, len(defs))
	for _, t := range defs {
		out[t["name"].(string)] = true
	}
	return out
}
