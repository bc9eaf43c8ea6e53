package proxy

import "testing"

func TestIsReadOnlyCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd  string
		want bool
	}{
		// Read-only operations.
		{"aws s3api list-buckets", true},
		{"aws s3 ls", true},
		{"aws s3 ls s3://my-bucket/prefix/", true},
		{"aws ec2 describe-instances", true},
		{"aws ec2 describe-instances --filters Name=instance-state-name,Values=running", true},
		{"aws iam get-account-summary", true},
		{"aws resourcegroupstaggingapi get-resources", true},
		{"aws cloudtrail lookup-events --max-results 5", true},
		{"aws dynamodb scan --table-name t", true},
		{"aws dynamodb query --table-name t --key-condition-expression 'pk = :v'", true},
		{"aws dynamodb batch-get-item --request-items file://items.json", true},
		{"aws servicecatalog search-products", true},
		{"aws sts get-caller-identity", true},
		{"  aws   ec2    describe-vpcs  ", true},
		{"aws\tec2\tdescribe-vpcs", true},
		{"aws --region eu-west-1 s3 ls", true},
		{"aws --region=eu-west-1 ec2 describe-instances", true},
		{"aws --profile x --output json --no-cli-pager ec2 describe-subnets", true},
		{"aws --debug ec2 describe-subnets", true},
		{`aws ec2 describe-instances --query "Reservations[].Instances[].{ID:InstanceId}"`, true},
		{`aws ec2 describe-instances --query 'Reservations[] | [0]'`, true},
		{"AWS_PROFILE=x aws s3 ls", false},

		// Writes.
		{"aws ec2 terminate-instances --instance-ids i-0123", false},
		{"aws s3 rm s3://bucket/key", false},
		{"aws s3 cp a s3://b/a", false},
		{"aws s3 sync . s3://b", false},
		{"aws s3api put-bucket-policy --bucket b --policy {}", false},
		{"aws iam create-user --user-name mallory", false},
		{"aws lambda invoke --function-name f out.json", false},
		{"aws ec2 run-instances --image-id ami-1", false},
		{"aws dynamodb delete-table --table-name t", false},
		{"aws ssm send-command --document-name AWS-RunShellScript", false},
		{"aws --region us-east-1 ec2 stop-instances --instance-ids i-1", false},
		{"aws configure list", false},
		{"aws ec2 listings", false},

		// Unparsable or chained: a write.
		{"", false},
		{"aws", false},
		{"aws s3", false},
		{"ls -la", false},
		{"gcloud compute instances list", false},
		{"aws s3 ls; aws s3 rb s3://b --force", false},
		{"aws s3 ls && aws s3 rm s3://b/k", false},
		{"aws s3 ls | sh", false},
		{"aws ec2 describe-instances $(rm -rf /)", false},
		{"aws ec2 describe-instances `id`", false},
		{"aws ec2 describe-instances > /etc/passwd", false},
		{"aws ec2 describe-instances\naws ec2 terminate-instances", false},
		{`aws ec2 describe-instances --query "unterminated`, false},
		{"aws --unknown-global-option x ec2 describe-instances", false},
		{"aws ec2 --region us-east-1 describe-instances", false},
		{"aws --region", false},
		{`aws "ec2" "describe-instances"`, true},
		{`aws ec2 describe-instances --query "$(id)"`, false},
	}
	for _, tt := range tests {
		if got := IsReadOnlyCommand(tt.cmd); got != tt.want {
			t.Errorf("IsReadOnlyCommand(%q) = %v, want %v", tt.cmd, got, tt.want)
		}
	}
}

// TestCLICommandIsReadExactly: a case variant of the key would let a
// case-insensitive decoder see another command than the guard did.
func TestCLICommandIsReadExactly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args string
		want string
	}{
		{`{"cli_command":"aws s3 ls"}`, "aws s3 ls"},
		{`{"cli_command":"aws ec2 terminate-instances --instance-ids i-1","CLI_COMMAND":"aws s3 ls"}`, ""},
		{`{"Cli_Command":"aws s3 ls"}`, ""},
		{`{"cli_command":5}`, ""},
		{`not json`, ""},
	}
	for _, tt := range tests {
		if got := cliCommand([]byte(tt.args)); got != tt.want {
			t.Errorf("cliCommand(%s) = %q, want %q", tt.args, got, tt.want)
		}
	}
	// A repeated key is collapsed before classification and sending.
	args, err := Args{"arguments": []byte(`{"cli_command":"aws ec2 terminate-instances","cli_command":"aws s3 ls"}`)}.Object("arguments")
	if err != nil || string(args) != `{"cli_command":"aws s3 ls"}` {
		t.Errorf("Object = %s, %v; want the one value every decoder sees", args, err)
	}
}
