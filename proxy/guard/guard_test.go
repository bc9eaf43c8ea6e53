package guard

import (
	"errors"
	"testing"
)

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

// TestCLICommandHasOneReader: both guards read cli_command through
// CLICommand, so they cannot disagree on what the command is. A key that
// differs only in case is read (a case-insensitive decoder upstream would
// read it); two of them, or one that is not a string, are ambiguous, and
// both guards refuse the call.
func TestCLICommandHasOneReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      string
		want      string
		ambiguous bool
		readOnly  bool
		secret    bool
	}{
		{`{"cli_command":"aws s3 ls"}`, "aws s3 ls", false, true, false},
		{`{"Cli_Command":"aws s3 ls"}`, "aws s3 ls", false, true, false},
		{`{"CLI_COMMAND":"aws secretsmanager get-secret-value --secret-id x"}`, "aws secretsmanager get-secret-value --secret-id x", false, true, true},
		{`{"cli_command":"aws ec2 terminate-instances --instance-ids i-1","CLI_COMMAND":"aws s3 ls"}`, "", true, false, true},
		{`{"cli_command":5}`, "", true, false, true},
		{`{"other":"aws s3 ls"}`, "", false, false, false},
		{`not json`, "", false, false, false},
	}
	for _, tt := range tests {
		got, err := CLICommand([]byte(tt.args))
		if got != tt.want || errors.Is(err, ErrAmbiguousCommand) != tt.ambiguous {
			t.Errorf("CLICommand(%s) = %q, %v; want %q, ambiguous %v", tt.args, got, err, tt.want, tt.ambiguous)
		}
		if ro := ReadOnlyArguments([]byte(tt.args)); ro != tt.readOnly {
			t.Errorf("ReadOnlyArguments(%s) = %v, want %v", tt.args, ro, tt.readOnly)
		}
		if _, secret := SecretInArguments([]byte(tt.args)); secret != tt.secret {
			t.Errorf("SecretInArguments(%s) = %v, want %v", tt.args, secret, tt.secret)
		}
	}
}

// TestSecretOperation: every listed secret-bearing read is caught however
// it is written (case, global options anywhere, = forms), reads that do not
// carry the secret are not, and what cannot be parsed counts as one.
func TestSecretOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd  string
		want string // "" = not secret-bearing
	}{
		{"aws secretsmanager get-secret-value --secret-id prod/db", "secretsmanager get-secret-value"},
		{"aws secretsmanager batch-get-secret-value --secret-id-list a b", "secretsmanager batch-get-secret-value"},
		{"aws ssm get-parameter --name /db/pw --with-decryption", "ssm get-parameter"},
		{"aws ssm get-parameters --names a b --with-decryption", "ssm get-parameters"},
		{"aws ssm get-parameters-by-path --path / --recursive --with-decryption", "ssm get-parameters-by-path"},
		{"aws ssm get-parameter-history --name x --with-decryption", "ssm get-parameter-history"},
		{"aws ecr get-login-password", "ecr get-login-password"},
		{"aws ecr get-authorization-token", "ecr get-authorization-token"},
		{"aws ec2 get-password-data --instance-id i-1", "ec2 get-password-data"},
		{"aws sts get-session-token", "sts get-session-token"},
		{"aws sts get-federation-token --name x", "sts get-federation-token"},
		{"aws lambda get-function --function-name f", "lambda get-function"},
		{"aws lambda get-function-configuration --function-name f", "lambda get-function-configuration"},
		{"aws codeartifact get-authorization-token --domain d", "codeartifact get-authorization-token"},
		{"aws redshift get-cluster-credentials --cluster-identifier c --db-user u", "redshift get-cluster-credentials"},
		{"aws apigateway get-api-keys --include-values", "apigateway get-api-keys"},
		{"aws glue get-connection --name c", "glue get-connection"},

		// However it is written.
		{"AWS SecretsManager GET-SECRET-VALUE --secret-id x", "secretsmanager get-secret-value"},
		{"aws --region eu-west-1 secretsmanager get-secret-value --secret-id x", "secretsmanager get-secret-value"},
		{"aws secretsmanager --region eu-west-1 get-secret-value --secret-id x", "secretsmanager get-secret-value"},
		{"aws --output=json --no-cli-pager ssm get-parameter --name x --with-decryption", "ssm get-parameter"},
		{"aws ssm --with-decryption get-parameter --name x", "ssm get-parameter"},
		{"aws ssm get-parameter --name x --cli-input-json '{\"WithDecryption\": true}'", "ssm get-parameter"},
		{"aws --unknown-global value secretsmanager get-secret-value", "secretsmanager get-secret-value"},
		{`aws "secretsmanager" 'get-secret-value'`, "secretsmanager get-secret-value"},
		{"aws secretsmanager get-secret-value; true", "a command that cannot be parsed"},
		{"aws ssm get-parameter --name 'unbalanced", "a command that cannot be parsed"},

		// Reads that do not carry the secret.
		{"aws ssm get-parameter --name /app/flag", ""},
		{"aws ssm get-parameters --names a --no-with-decryption", ""},
		{"aws ssm get-parameter --name x --with-decryption --no-with-decryption", ""},
		{"aws secretsmanager list-secrets", ""},
		{"aws secretsmanager describe-secret --secret-id x", ""},
		{"aws lambda list-functions", ""},
		{"aws apigateway get-api-keys", ""},
		{"aws glue get-connection --name c --hide-password", ""},
		{"aws ecr describe-repositories", ""},
		{"aws sts get-caller-identity", ""},
		{"aws ec2 describe-instances --query 'Reservations[].Instances[].PasswordData'", ""},
		{"", ""},
	}
	for _, tt := range tests {
		op, secret := SecretOperation(tt.cmd)
		if secret != (tt.want != "") || op != tt.want {
			t.Errorf("SecretOperation(%q) = %q, %v; want %q", tt.cmd, op, secret, tt.want)
		}
	}
}

// TestSecretReadsPassTheWriteGuard: every listed read is read-only to the
// write guard (so only the secret guard stops its fan-out), and the two
// tables agree.
func TestSecretReadsPassTheWriteGuard(t *testing.T) {
	t.Parallel()
	for _, sr := range SecretReads {
		cmd := "aws " + sr.Service + " " + sr.Operation
		if sr.When != "" {
			cmd += " " + sr.When
		}
		if !IsReadOnlyCommand(cmd) {
			t.Errorf("%q is not read-only to the write guard", cmd)
		}
		if op, secret := SecretOperation(cmd); !secret || op != sr.Service+" "+sr.Operation {
			t.Errorf("SecretOperation(%q) = %q, %v", cmd, op, secret)
		}
	}
}
