package fakeaws

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
)

// dataset produces deterministic per-account answers.
type dataset struct {
	names map[string]string
}

// call runs a tool for the signing account; false means the tool is unknown.
func (d *dataset) call(c ToolCall) (map[string]any, bool) {
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	switch c.Tool {
	case ToolCallAWS:
		cmd, _ := c.Arguments["cli_command"].(string)
		if strings.TrimSpace(cmd) == "" {
			return toolError("cli_command is required"), true
		}
		out, err := d.cli(c, region, strings.Fields(cmd))
		if err != "" {
			return toolError(err), true
		}
		return textResult(out), true
	case ToolSuggestAWSCommands:
		q, _ := c.Arguments["query"].(string)
		return textResult(map[string]any{"suggestions": []map[string]any{
			{"command": "aws ec2 describe-instances", "confidence": 0.8, "description": "Lists EC2 instances for: " + q},
			{"command": "aws s3api list-buckets", "confidence": 0.4, "description": "Lists S3 buckets"},
		}}), true
	case ToolSearchDocs:
		q, _ := c.Arguments["search_phrase"].(string)
		return textResult([]map[string]any{{"title": "Result for " + q, "url": "https://docs.aws.amazon.com/fake/" + strings.ReplaceAll(q, " ", "-")}}), true
	case ToolReadDocs:
		u, _ := c.Arguments["url"].(string)
		return textResult("# Documentation\n\nFake page for " + u), true
	case ToolListRegions:
		return textResult(map[string]any{"Regions": []string{"us-east-1", "us-west-2", "eu-west-1"}}), true
	case ToolPutThing:
		name, _ := c.Arguments["name"].(string)
		return textResult(map[string]any{"created": name, "account": c.Account}), true
	}
	return nil, false
}

// cli answers a handful of AWS CLI commands with per-account data.
func (d *dataset) cli(c ToolCall, region string, args []string) (any, string) {
	if len(args) < 2 || args[0] != "aws" {
		return nil, "cli_command must start with 'aws'"
	}
	var words []string
	for i := 1; i < len(args); i++ {
		if strings.HasPrefix(args[i], "--") {
			if args[i] == "--region" && i+1 < len(args) {
				region = args[i+1]
			}
			i++
			continue
		}
		words = append(words, args[i])
	}
	if len(words) < 2 {
		return nil, "usage: aws <service> <operation>"
	}
	name := d.names[c.Account]
	if name == "" {
		name = "acct-" + c.Account
	}
	slug := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	n := seed(c.Account)
	switch words[0] + " " + words[1] {
	case "sts get-caller-identity":
		return map[string]any{"UserId": "AROAFAKEROLE:" + c.Principal[strings.LastIndex(c.Principal, "/")+1:], "Account": c.Account, "Arn": c.Principal}, ""
	case "s3api list-buckets", "s3 ls":
		var buckets []map[string]any
		for i := 0; i < int(n%4)+1; i++ {
			buckets = append(buckets, map[string]any{"Name": fmt.Sprintf("%s-data-%d-%s", slug, i, c.Account), "CreationDate": "2025-0" + fmt.Sprint(i+1) + "-15T10:00:00+00:00"})
		}
		return map[string]any{"Buckets": buckets, "Owner": map[string]any{"ID": fmt.Sprintf("%x", n)}}, ""
	case "ec2 describe-instances":
		return DescribeInstances(c.Account, region), ""
	case "ec2 describe-regions":
		return map[string]any{"Regions": []map[string]any{{"RegionName": "us-east-1"}, {"RegionName": "us-west-2"}, {"RegionName": "eu-west-1"}}}, ""
	case "ec2 terminate-instances":
		return map[string]any{"TerminatingInstances": []map[string]any{{"CurrentState": map[string]any{"Name": "shutting-down"}}}}, ""
	}
	return map[string]any{"account": c.Account, "region": region, "command": strings.Join(words, " "), "result": "ok"}, ""
}

func seed(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func textResult(v any) map[string]any {
	var text string
	if s, ok := v.(string); ok {
		text = s
	} else {
		b, _ := json.Marshal(v)
		text = string(b)
	}
	return map[string]any{"content": []map[string]any{{"type": "text", "text": text}}, "isError": false}
}

func toolError(msg string) map[string]any {
	return map[string]any{"content": []map[string]any{{"type": "text", "text": msg}}, "isError": true}
}
