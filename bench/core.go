package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/app"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// Core is the proxy core wired by app.Build, as the program wires it,
// against the fakes: a static account directory, the AssumeRole
// credential store over STS, the upstream session pool over one shared
// transport, the result store and the Service.
type Core struct {
	*app.App
	// Store is the AssumeRole credential store.
	Store *auth.Store
	// Transport is the shared upstream transport (to close idle connections).
	Transport *http.Transport
	// STSTransport is the STS client's transport, held here only so that
	// measurements can close its idle connections.
	STSTransport *http.Transport
	// STSDials and UpstreamDials count the connections the two transports
	// dialed.
	STSDials, UpstreamDials *atomic.Int64
}

// CoreOptions configures a Core.
type CoreOptions struct {
	// Concurrency is the fan-out bound (--concurrency).
	Concurrency int
	// Timeout is the per-account timeout (--timeout); the default when zero.
	Timeout time.Duration
	// Accounts are the configured accounts.
	Accounts []fakeaws.Account
	// STSIdleConns, when positive, sets the STS transport's
	// MaxIdleConnsPerHost; zero sizes it for Concurrency, as app.Build does
	// (10, the SDK's default, measures the unsized pool).
	STSIdleConns int
	// AccountRPS paces the upstream requests to one account
	// (--account-rps); zero, the default here, leaves them unpaced, so that
	// back-to-back calls measure the proxy rather than the pacer.
	AccountRPS float64
	// AllowChanges offers changes (--allow-changes).
	AllowChanges bool
	// MaxInFlight bounds the upstream calls in flight (--max-in-flight);
	// the program's default when zero.
	MaxInFlight int
}

// NewCore wires a core against the fakes at urls with app.Build, logging
// to io.Discard.
func NewCore(urls URLs, o CoreOptions) (*Core, error) {
	var cfg app.Config
	app.NewFlagSet("bench", &cfg, func(string) string { return "" }, io.Discard)
	list, _ := json.Marshal(o.Accounts)
	cfg.TargetAccounts = string(list)
	cfg.Endpoint = urls.MCP
	cfg.SigningRegion = "us-east-1"
	cfg.Region = "us-east-1"
	cfg.Concurrency = o.Concurrency
	cfg.MaxConcurrency = max(cfg.MaxConcurrency, o.Concurrency)
	cfg.AccountRPS, cfg.AccountConcurrency = o.AccountRPS, 0
	cfg.AllowChanges = o.AllowChanges
	if o.MaxInFlight > 0 {
		cfg.MaxInFlight = o.MaxInFlight
	}
	if o.Timeout > 0 {
		cfg.Timeout = o.Timeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	// The SDK's default transport (what app.Build sizes), owned here so its
	// idle connections can be closed when a measurement ends.
	stsTransport := awshttp.NewBuildableClient().GetTransport()
	if o.STSIdleConns > 0 {
		stsTransport.MaxIdleConnsPerHost = o.STSIdleConns
	} else {
		stsTransport.MaxIdleConnsPerHost = max(stsTransport.MaxIdleConnsPerHost, cfg.MaxConcurrency)
		stsTransport.MaxIdleConns = max(stsTransport.MaxIdleConns, 2*cfg.MaxConcurrency)
	}
	tr := upstream.NewTransport(max(cfg.Concurrency, cfg.MaxConcurrency))
	stsDials, upDials := countDials(stsTransport), countDials(tr)
	roots, err := fakeRoots(urls)
	if err != nil {
		return nil, err
	}
	if roots != nil {
		trustFakes(stsTransport, roots)
		trustFakes(tr, roots)
	}
	base := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(fakeaws.BaseAccessKeyID, fakeaws.BaseSecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: stsTransport},
	}
	a, err := app.Build(context.Background(), cfg, slog.New(slog.DiscardHandler),
		app.Wiring{Base: &base, STSEndpoint: urls.STS, UpstreamTransport: tr})
	if err != nil {
		return nil, err
	}
	return &Core{App: a, Store: a.Credentials.Roles, Transport: tr, STSTransport: stsTransport,
		STSDials: stsDials, UpstreamDials: upDials}, nil
}

// Close ends the upstream sessions and drops idle connections.
func (c *Core) Close() {
	c.App.Close()
	c.CloseIdleConnections()
}

// CloseIdleConnections drops the idle keep-alive connections to the
// upstream and to STS (and so their goroutines).
func (c *Core) CloseIdleConnections() {
	c.Transport.CloseIdleConnections()
	c.STSTransport.CloseIdleConnections()
}

// CallerIdentity is the read-only upstream call every benchmark fans out.
var CallerIdentity = proxy.QueryAllRequest{
	ToolName:  "aws___run_script",
	Arguments: []byte(`{"code":"resp = await call_boto3(service_name='sts', operation_name='GetCallerIdentity')\nresp"}`),
}

// fakeRoots is a pool of the fakes' TLS certificate; nil when they serve
// plain HTTP.
func fakeRoots(urls URLs) (*x509.CertPool, error) {
	if urls.CACert == "" {
		return nil, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(urls.CACert)) {
		return nil, fmt.Errorf("fakes' CA certificate: no PEM certificate")
	}
	return roots, nil
}

// directTransport is the transport of minimal clients of the fakes (the
// floors): an upstream transport sized for conns that trusts the fakes.
func directTransport(urls URLs, conns int) (*http.Transport, error) {
	roots, err := fakeRoots(urls)
	if err != nil {
		return nil, err
	}
	tr := upstream.NewTransport(conns)
	if roots != nil {
		trustFakes(tr, roots)
	}
	return tr, nil
}

// trustFakes makes a transport trust the fakes' TLS certificate.
func trustFakes(t *http.Transport, roots *x509.CertPool) {
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.RootCAs = roots
}

// countDials wraps a transport's dialer to count the connections it opens.
func countDials(t *http.Transport) *atomic.Int64 {
	n := new(atomic.Int64)
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return n
}
