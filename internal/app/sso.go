package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
)

// ssoRetries rides out the portal's throttling (TooManyRequestsException)
// while discovering thousands of accounts: no account may be lost to it.
const ssoRetries = 10

// SSO is an IAM Identity Center session wired: its account source and its
// credentials.
type SSO struct {
	Session  accounts.SSOOptions
	Source   *accounts.SSOSource
	Store    *auth.SSOStore
	StartURL string
	Region   string
}

// wireSSO reads the [sso-session NAME] section of the AWS config file
// (through the SDK's own parser), and builds the portal and SSO OIDC
// clients in its region, the SDK's token provider over the token cache
// aws sso login writes (~/.aws/sso/cache/<sha1 of the name>.json), the
// account source and the credential store. It makes no network call.
func wireSSO(ctx context.Context, cfg Config, base aws.Config, endpoint string, log *slog.Logger) (*SSO, error) {
	session, err := loadSSOSession(ctx, cfg)
	if err != nil {
		return nil, err
	}
	regional := base.Copy()
	regional.Region = session.SSORegion
	// The portal's calls carry a bearer token, not a signature: no base
	// credentials are needed (an IAM Identity Center user may have none).
	regional.Credentials = aws.AnonymousCredentials{}
	portal := sso.NewFromConfig(regional, func(o *sso.Options) {
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), ssoRetries)
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	cachePath, err := ssocreds.StandardCachedTokenFilepath(session.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: IAM Identity Center token cache: %w", ErrConfig, err)
	}
	tokens := ssocreds.NewSSOTokenProvider(ssooidc.NewFromConfig(regional, func(o *ssooidc.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), cachePath)
	store := auth.NewSSOStore(portal, tokens, session.Name, session.SSOStartURL)
	opts := accounts.SSOOptions{
		Session: session.Name, Token: store.Token, Roles: cfg.SSORoles, ReadOnlyRoles: cfg.SSOReadOnlyRoles,
		TTL: cfg.OrgTTL, Log: log, Explain: store.Explain,
	}
	return &SSO{Session: opts, Source: accounts.NewSSOSource(portal, opts), Store: store, StartURL: session.SSOStartURL, Region: session.SSORegion}, nil
}

// loadSSOSession reads one [sso-session NAME] section. The SDK reads such
// a section only for a profile that names it, so a profile naming it is
// added, in a file of its own, to the files the SDK reads.
func loadSSOSession(ctx context.Context, cfg Config) (awsconfig.SSOSession, error) {
	name := cfg.SSOSession
	configFile := cfg.env("AWS_CONFIG_FILE")
	if configFile == "" {
		configFile = awsconfig.DefaultSharedConfigFilename()
	}
	const profile = "aws-mcp-multi-account-sso-session"
	synthetic, err := os.CreateTemp("", "aws-mcp-sso-*.ini")
	if err != nil {
		return awsconfig.SSOSession{}, fmt.Errorf("%w: --sso-session: %w", ErrConfig, err)
	}
	defer os.Remove(synthetic.Name())
	_, err = fmt.Fprintf(synthetic, "[profile %s]\nsso_session = %s\n", profile, name)
	if cerr := synthetic.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return awsconfig.SSOSession{}, fmt.Errorf("%w: --sso-session: %w", ErrConfig, err)
	}
	shared, err := awsconfig.LoadSharedConfigProfile(ctx, profile, func(o *awsconfig.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{configFile, synthetic.Name()}
		o.CredentialsFiles = []string{}
	})
	switch {
	case err != nil:
		return awsconfig.SSOSession{}, fmt.Errorf("%w: --sso-session %s: read %s: %w", ErrConfig, name, configFile, err)
	case shared.SSOSession == nil:
		return awsconfig.SSOSession{}, fmt.Errorf("%w: --sso-session %s: %s has no [sso-session %s] section; create it with `aws configure sso-session`", ErrConfig, name, configFile, name)
	case shared.SSOSession.SSORegion == "" || shared.SSOSession.SSOStartURL == "":
		return awsconfig.SSOSession{}, fmt.Errorf("%w: --sso-session %s: the [sso-session %s] section of %s needs sso_region and sso_start_url", ErrConfig, name, name, configFile)
	}
	return *shared.SSOSession, nil
}
