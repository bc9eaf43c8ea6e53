#!/usr/bin/env bash
# deploy.sh builds the aws-mcp-multi-account Lambda bridge and deploys it with
# CloudFormation: cognito -> bridge-lambda (-> agentcore-runtime, the team
# server on AgentCore Runtime) -> gateway (-> member-account roles as a
# service-managed StackSet). Each stack's outputs feed the next one.
#
#   examples/deploy.sh            deploy, asking for whatever is not set below
#   examples/deploy.sh --dry-run  print the commands instead of running them
#
# Settings (environment variables; asked for interactively when unset):
#   AWS_REGION           region of the stacks (default: the CLI's, else us-east-1)
#   STACK_PREFIX         prefix of stack and resource names (default central-ops)
#   ARTIFACT_BUCKET      S3 bucket in AWS_REGION for the code and templates
#   ORGANIZATION_ID      AWS Organizations id, o-... (default: this account's)
#   TARGET_ACCOUNTS      JSON array: [{"id":"222222222222","name":"Production"}]
#   ACCOUNTS_FILE        local JSON/YAML accounts file to ship in the zip instead
#   AWS_MCP_ORG          true to discover the accounts from Organizations
#   AWS_MCP_ORG_ROLE     role ARN to read Organizations through (optional)
#   TARGET_ROLE_NAME     member-account role name (default CentralOpsTargetRole)
#   TARGET_EXTERNAL_ID   ExternalId the member roles require (optional)
#   AWS_MCP_READ_ONLY    true to refuse tools that are not read-only (default false)
#   KEEP_RESULTS         false to keep no answers in S3 for get_result (default true)
#   GOARCH               arm64 (default) or amd64
#   DEPLOY_RUNTIME       yes to deploy the team server on AgentCore Runtime too
#                        (default no), fronted by the gateway with the person's
#                        token (JWT_PASSTHROUGH), then:
#     RUNTIME_IMAGE_URI    ECR image of the team server built for linux/arm64:
#                          docker buildx build --platform linux/arm64 \
#                            -f examples/container/Dockerfile -t <uri> --push .
#   DEPLOY_MEMBER_ROLES  yes to deploy stackset.yaml too (default no), then:
#     MEMBER_ROLE_OUS      comma-separated OU ids or the root id (r-...)
#     STACKSET_PROFILE     AWS profile of the management or delegated-admin account
#     STACKSET_CALL_AS     SELF (management account, default) or DELEGATED_ADMIN
#     STACKSET_BUCKET      S3 bucket of that account for the member template
#                          (default ARTIFACT_BUCKET)
#     ADDITIONAL_PRINCIPAL_ARN  a second principal the member roles trust (optional)
set -euo pipefail

DRY_RUN=false

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die() {
  echo "deploy.sh: $*" >&2
  exit 1
}

note() {
  echo "==> $*" >&2
}

# run executes a command, or prints it (shell-quoted, one line) on a dry run.
run() {
  if [ "$DRY_RUN" = true ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# ask sets the variable named $1 from the environment, else from the terminal
# (question $2, default $3), else from the default. With $4 = optional, an
# empty answer is fine; otherwise it is an error.
ask() {
  local var=$1 question=$2 default=${3-} kind=${4-required} value
  if declare -p "$var" >/dev/null 2>&1; then
    value=${!var}
  else
    value=
    if [ -t 0 ]; then
      read -r -p "$question${default:+ [$default]}: " value
    fi
    value=${value:-$default}
  fi
  if [ -z "$value" ] && [ "$kind" != optional ]; then
    die "$var is required: $question (set $var=...)"
  fi
  printf -v "$var" '%s' "$value"
}

# output prints one output of a stack ($1 stack, $2 key, rest: aws options).
output() {
  local stack=$1 key=$2
  shift 2
  if [ "$DRY_RUN" = true ]; then
    printf '<%s output %s>' "$stack" "$key"
    return
  fi
  aws "$@" cloudformation describe-stacks --region "$AWS_REGION" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$key'].OutputValue" --output text
}

# sha256 prints the hex SHA-256 of the concatenated files.
sha256() {
  if command -v sha256sum >/dev/null; then
    cat "$@" | sha256sum | cut -c1-16
  else
    cat "$@" | shasum -a 256 | cut -c1-16
  fi
}

while [ $# -gt 0 ]; do
  case $1 in
    -n | --dry-run) DRY_RUN=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
infra=examples/infrastructure
if [ "$DRY_RUN" = true ]; then
  note "dry run: commands are printed, not run (from $(pwd)); stack outputs show as <stack output Key>"
fi

if [ "$DRY_RUN" = false ]; then
  for tool in aws go zip; do
    command -v "$tool" >/dev/null || die "$tool is needed on PATH"
  done
fi

# --- settings ---------------------------------------------------------------
default_region=${AWS_DEFAULT_REGION:-}
if [ -z "$default_region" ] && [ "$DRY_RUN" = false ]; then
  default_region=$(aws configure get region 2>/dev/null || true)
fi
ask AWS_REGION "AWS region for the stacks" "${default_region:-us-east-1}"
export AWS_REGION
ask STACK_PREFIX "Prefix of stack names" central-ops
[[ $STACK_PREFIX =~ ^[a-zA-Z]([a-zA-Z0-9]|-[a-zA-Z0-9]){0,30}$ ]] ||
  die "STACK_PREFIX $STACK_PREFIX: letters, digits and single inner hyphens, at most 32"
ask ARTIFACT_BUCKET "S3 bucket (in $AWS_REGION) for the Lambda code and templates"
if [ "$DRY_RUN" = false ] && ! aws s3api head-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null 2>&1; then
  die "bucket $ARTIFACT_BUCKET is not reachable; create it with: aws s3 mb s3://$ARTIFACT_BUCKET --region $AWS_REGION"
fi

default_org=
if [ "$DRY_RUN" = false ]; then
  default_org=$(aws organizations describe-organization --query Organization.Id --output text 2>/dev/null || true)
fi
ask ORGANIZATION_ID "AWS Organizations id (o-...)" "$default_org"
[[ $ORGANIZATION_ID =~ ^o-[a-z0-9]{10,32}$ ]] || die "ORGANIZATION_ID $ORGANIZATION_ID does not look like o-abcd123456"

ask AWS_MCP_ORG "Discover accounts from AWS Organizations? (true/false)" false
ask ACCOUNTS_FILE "Local accounts file to ship in the zip (empty for none)" "" optional
accounts_default=optional
if [ "$AWS_MCP_ORG" != true ] && [ -z "$ACCOUNTS_FILE" ]; then
  accounts_default=required
fi
ask TARGET_ACCOUNTS 'Target accounts as JSON, e.g. [{"id":"222222222222","name":"Production"}]' "" "$accounts_default"
if [ -n "$TARGET_ACCOUNTS" ] && [[ $TARGET_ACCOUNTS != \[* ]]; then
  die "TARGET_ACCOUNTS must be a JSON array"
fi
if [ ${#TARGET_ACCOUNTS} -gt 3500 ]; then
  die "TARGET_ACCOUNTS is ${#TARGET_ACCOUNTS} bytes; Lambda environments hold 4 KB in all: use ACCOUNTS_FILE or AWS_MCP_ORG=true"
fi
ask AWS_MCP_ORG_ROLE "Role ARN to read Organizations through (empty for none)" "" optional
ask TARGET_ROLE_NAME "Member-account role name" CentralOpsTargetRole
ask TARGET_EXTERNAL_ID "ExternalId the member roles require (empty for none)" "" optional
ask AWS_MCP_READ_ONLY "Refuse tools that are not read-only? (true/false)" false
ask GOARCH "Lambda architecture (arm64/amd64)" arm64
case $GOARCH in
  arm64) lambda_arch=arm64 ;;
  amd64) lambda_arch=x86_64 ;;
  *) die "GOARCH $GOARCH: want arm64 or amd64" ;;
esac
ask DEPLOY_RUNTIME "Deploy the team server on AgentCore Runtime too? (yes/no)" no
if [ "$DEPLOY_RUNTIME" = yes ]; then
  ask RUNTIME_IMAGE_URI "ECR image of the team server, built for linux/arm64"
fi
ask DEPLOY_MEMBER_ROLES "Deploy the member-account roles as a StackSet? (yes/no)" no

# --- build and upload -------------------------------------------------------
note "building the Lambda bootstrap for linux/$GOARCH"
run mkdir -p build
run env GOOS=linux GOARCH="$GOARCH" CGO_ENABLED=0 go build -tags lambda -trimpath -ldflags='-s -w' -o build/bootstrap .
package_files=(build/bootstrap)
accounts_path=
if [ -n "$ACCOUNTS_FILE" ]; then
  [ "$DRY_RUN" = true ] || [ -f "$ACCOUNTS_FILE" ] || die "ACCOUNTS_FILE $ACCOUNTS_FILE does not exist"
  ext=${ACCOUNTS_FILE##*.}
  run cp "$ACCOUNTS_FILE" "build/accounts.$ext"
  package_files+=("build/accounts.$ext")
  accounts_path=/var/task/accounts.$ext
fi
run rm -f build/bridge.zip
run zip -q -j -X build/bridge.zip "${package_files[@]}"
if [ "$DRY_RUN" = true ]; then
  code_hash='<sha256 of the package>'
else
  code_hash=$(sha256 "${package_files[@]}")
fi
code_key="$STACK_PREFIX/bridge-$code_hash.zip"
run aws s3 cp build/bridge.zip "s3://$ARTIFACT_BUCKET/$code_key"

deploy_flags=(--region "$AWS_REGION" --no-fail-on-empty-changeset
  --s3-bucket "$ARTIFACT_BUCKET" --s3-prefix "$STACK_PREFIX/templates")

# --- cognito ----------------------------------------------------------------
cognito_stack=$STACK_PREFIX-cognito
note "deploying $cognito_stack"
run aws cloudformation deploy "${deploy_flags[@]}" --stack-name "$cognito_stack" \
  --template-file "$infra/cognito.yaml" \
  --parameter-overrides "UserPoolName=$STACK_PREFIX-aws-mcp"
discovery_url=$(output "$cognito_stack" DiscoveryUrl)
allowed_clients=$(output "$cognito_stack" AllowedClients)

# --- bridge Lambda ----------------------------------------------------------
bridge_stack=$STACK_PREFIX-bridge
note "deploying $bridge_stack"
run aws cloudformation deploy "${deploy_flags[@]}" --stack-name "$bridge_stack" \
  --template-file "$infra/bridge-lambda.yaml" --capabilities CAPABILITY_IAM \
  --parameter-overrides \
  "CodeS3Bucket=$ARTIFACT_BUCKET" "CodeS3Key=$code_key" "Architecture=$lambda_arch" \
  "FunctionName=$STACK_PREFIX-aws-mcp-bridge" "OrganizationId=$ORGANIZATION_ID" \
  "TargetAccounts=$TARGET_ACCOUNTS" "AccountsFile=$accounts_path" \
  "EnableOrgDiscovery=$AWS_MCP_ORG" "OrgRoleArn=$AWS_MCP_ORG_ROLE" \
  "TargetRoleName=$TARGET_ROLE_NAME" "TargetExternalId=$TARGET_EXTERNAL_ID" \
  "ReadOnly=$AWS_MCP_READ_ONLY" "KeepResults=${KEEP_RESULTS:-true}"
lambda_arn=$(output "$bridge_stack" LambdaArn)
lambda_role_arn=$(output "$bridge_stack" LambdaRoleArn)

# --- team server on AgentCore Runtime (optional) ----------------------------
runtime_arn=
runtime_role_arn=
if [ "$DEPLOY_RUNTIME" = yes ]; then
  runtime_stack=$STACK_PREFIX-runtime
  note "deploying $runtime_stack"
  run aws cloudformation deploy "${deploy_flags[@]}" --stack-name "$runtime_stack" \
    --template-file "$infra/agentcore-runtime.yaml" --capabilities CAPABILITY_IAM \
    --parameter-overrides \
    "ImageUri=$RUNTIME_IMAGE_URI" "RuntimeName=${STACK_PREFIX//-/_}_aws_mcp" \
    "CognitoDiscoveryUrl=$discovery_url" "AllowedClientIds=$allowed_clients" \
    "OidcAudience=https://bedrock-agentcore.$AWS_REGION.amazonaws.com/runtimes/${STACK_PREFIX}_aws_mcp" \
    "OrganizationId=$ORGANIZATION_ID" "TargetAccounts=$TARGET_ACCOUNTS" \
    "EnableOrgDiscovery=$AWS_MCP_ORG" "TargetRoleName=$TARGET_ROLE_NAME" \
    "TargetExternalId=$TARGET_EXTERNAL_ID"
  runtime_arn=$(output "$runtime_stack" RuntimeArn)
  runtime_role_arn=$(output "$runtime_stack" ExecutionRoleArn)
fi

# --- gateway ----------------------------------------------------------------
gateway_stack=$STACK_PREFIX-gateway
note "deploying $gateway_stack"
run aws cloudformation deploy "${deploy_flags[@]}" --stack-name "$gateway_stack" \
  --template-file "$infra/gateway.yaml" --capabilities CAPABILITY_IAM \
  --parameter-overrides \
  "GatewayName=$STACK_PREFIX-aws-mcp" "BridgeLambdaArn=$lambda_arn" \
  "DiscoveryUrl=$discovery_url" "AllowedClients=$allowed_clients" \
  "TeamServerRuntimeArn=$runtime_arn"
gateway_url=$(output "$gateway_stack" GatewayUrl)

# --- member-account roles ---------------------------------------------------
if [ "$DEPLOY_MEMBER_ROLES" = yes ]; then
  ask MEMBER_ROLE_OUS "OU ids (ou-...) or root id (r-...) for the member roles, comma-separated"
  ask STACKSET_PROFILE "AWS profile of the management or delegated-admin account (empty: current credentials)" "" optional
  ask STACKSET_CALL_AS "SELF (management account) or DELEGATED_ADMIN" SELF
  ask STACKSET_BUCKET "S3 bucket of that account for the member template" "$ARTIFACT_BUCKET"
  # The Runtime's execution role is the team server's central principal.
  ask ADDITIONAL_PRINCIPAL_ARN "A second principal the roles trust, e.g. an SSO role (empty for none)" "$runtime_role_arn" optional
  admin=()
  if [ -n "$STACKSET_PROFILE" ]; then
    admin=(--profile "$STACKSET_PROFILE")
  fi
  members_stack=$STACK_PREFIX-member-roles
  template_key=$STACK_PREFIX/member-account-role.yaml
  note "deploying $members_stack (StackSet over $MEMBER_ROLE_OUS)"
  run aws ${admin[@]+"${admin[@]}"} cloudformation activate-organizations-access --region "$AWS_REGION" ||
    note "could not activate trusted access for StackSets; it may already be on"
  run aws ${admin[@]+"${admin[@]}"} s3 cp "$infra/member-account-role.yaml" "s3://$STACKSET_BUCKET/$template_key"
  run aws ${admin[@]+"${admin[@]}"} cloudformation deploy --region "$AWS_REGION" --no-fail-on-empty-changeset \
    --stack-name "$members_stack" --template-file "$infra/stackset.yaml" \
    --parameter-overrides \
    "StackSetName=$STACK_PREFIX-aws-mcp-member-role" \
    "MemberRoleTemplateUrl=https://$STACKSET_BUCKET.s3.$AWS_REGION.amazonaws.com/$template_key" \
    "OrganizationalUnitIds=$MEMBER_ROLE_OUS" "CallAs=$STACKSET_CALL_AS" \
    "RoleName=$TARGET_ROLE_NAME" "TrustedPrincipalArn=$lambda_role_arn" \
    "ExternalId=$TARGET_EXTERNAL_ID" "AdditionalPrincipalArn=$ADDITIONAL_PRINCIPAL_ARN"
else
  note "skipping the member-account roles: deploy $infra/member-account-role.yaml in each account"
  note "(TrustedPrincipalArn=$lambda_role_arn${runtime_role_arn:+, AdditionalPrincipalArn=$runtime_role_arn}), or rerun with DEPLOY_MEMBER_ROLES=yes"
fi

# --- summary ----------------------------------------------------------------
user_pool_id=$(output "$cognito_stack" UserPoolId)
machine_client_id=$(output "$cognito_stack" MachineClientId)
user_client_id=$(output "$cognito_stack" UserClientId)
token_endpoint=$(output "$cognito_stack" TokenEndpoint)
scope=$(output "$cognito_stack" Scope)

cat <<EOF

Gateway URL: $gateway_url
Lambda:      $lambda_arn
Role to trust in member accounts: $lambda_role_arn${runtime_role_arn:+ and $runtime_role_arn (the Runtime)}
${runtime_arn:+Team server on AgentCore Runtime: $runtime_arn (gateway target "team")}

Token for an agent (OAuth client credentials):
  secret=\$(aws cognito-idp describe-user-pool-client --region $AWS_REGION \\
    --user-pool-id $user_pool_id --client-id $machine_client_id \\
    --query UserPoolClient.ClientSecret --output text)
  token=\$(curl -s -u "$machine_client_id:\$secret" -d grant_type=client_credentials \\
    -d scope=$scope $token_endpoint | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

Token for a person (create the user once, then sign in):
  aws cognito-idp admin-create-user --region $AWS_REGION --user-pool-id $user_pool_id \\
    --username you@example.com --message-action SUPPRESS \\
    --user-attributes Name=email,Value=you@example.com Name=email_verified,Value=true
  aws cognito-idp admin-set-user-password --region $AWS_REGION --user-pool-id $user_pool_id \\
    --username you@example.com --password '<a strong password>' --permanent
  token=\$(aws cognito-idp initiate-auth --region $AWS_REGION --client-id $user_client_id \\
    --auth-flow USER_PASSWORD_AUTH \\
    --auth-parameters 'USERNAME=you@example.com,PASSWORD=<the password>' \\
    --query AuthenticationResult.AccessToken --output text)

List the tools:
  curl -s $gateway_url -H "Authorization: Bearer \$token" -H 'Content-Type: application/json' \\
    -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
EOF
