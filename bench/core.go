package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/centralops/aws-mcp-multi-account/accounts"
	"github.com/centralops/aws-mcp-multi-account/auth"
	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
	"github.com/centralops/aws-mcp-multi-account/proxy"
	"github.com/centralops/aws-mcp-multi-account/proxy/upstream"
)

// Core is the proxy core wired as wire.go wires it: a static account
// directory, an AssumeRole credential store over STS, the upstream session
// pool over one shared transport, and the Service.
type Core struct {
	Service *proxy.Service
	Pool    *upstream.Pool
	Store   *auth.Store
	// Transport is the shared upstream transport (to close idle connections).
	Transport *http.Transport
	// STSTransport is the STS client's transport: the SDK's default one,
	// held here only so that measurements can close its idle connections.
	STSTransport *http.Transport
	// STSDials and UpstreamDials count the connections the two transports
	// dialed.
	STSDials, UpstreamDials *atomic.Int64
}

// CoreOptions configures a Core.
type CoreOptions struct {
	// Concurrency is the fan-out bound (--concurrency).
	Concurrency int
	// Timeout is the per-account timeout (--timeout); 120 s when zero.
	Timeout time.Duration
	// Accounts are the configured accounts.
	Accounts []fakeaws.Account
	// STSIdleConns, when positive, sets the STS transport's
	// MaxIdleConnsPerHost; zero sizes it for Concurrency, as wire.go does
	// (10, the SDK's default, measures the unsized pool).
	STSIdleConns int
}

// NewCore wires a core against the fakes at urls, logging to io.Discard.
func NewCore(urls URLs, o CoreOptions) (*Core, error) {
	accts := make(accounts.Static, len(o.Accounts))
	for i, a := range o.Accounts {
		accts[i] = accounts.Account{ID: a.ID, Name: a.Name, Source: accounts.SourceEnv}
	}
	dir, err := accounts.NewDirectory(nil, accts)
	if err != nil {
		return nil, err
	}
	// The SDK's default transport (what wire.go gets), owned here so its
	// idle connections can be closed when a measurement ends.
	stsTransport := awshttp.NewBuildableClient().GetTransport()
	if o.STSIdleConns > 0 {
		stsTransport.MaxIdleConnsPerHost = o.STSIdleConns
	} else {
		stsTransport.MaxIdleConnsPerHost = max(stsTransport.MaxIdleConnsPerHost, o.Concurrency)
		stsTransport.MaxIdleConns = max(stsTransport.MaxIdleConns, 2*o.Concurrency)
	}
	tr := upstream.NewTransport(o.Concurrency)
	stsDials, upDials := countDials(stsTransport), countDials(tr)
	if urls.CACert != "" {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(urls.CACert)) {
			return nil, fmt.Errorf("fakes' CA certificate: no PEM certificate")
		}
		trustFakes(stsTransport, roots)
		trustFakes(tr, roots)
	}
	stsClient := sts.New(sts.Options{
		HTTPClient:   &http.Client{Transport: stsTransport},
		Region:       "us-east-1",
		BaseEndpoint: aws.String(urls.STS),
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.BaseAccessKeyID, fakeaws.BaseSecretAccessKey, ""),
	})
	store := auth.NewStore(stsClient, func(o *auth.Options) {
		o.ReadOnlyPolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := upstream.NewPool(upstream.Options{
		Endpoint:         urls.MCP,
		SigningRegion:    "us-east-1",
		Transport:        tr,
		MaxResponseBytes: upstream.DefaultMaxResponseBytes,
		Logger:           log,
		MaxInFlight:      max(64, 4*o.Concurrency),
	})
	if err != nil {
		return nil, err
	}
	svc := proxy.New(proxy.Config{Concurrency: o.Concurrency, Timeout: o.Timeout}, dir,
		&proxy.AccountCredentials{Roles: store}, pool, log)
	return &Core{Service: svc, Pool: pool, Store: store, Transport: tr, STSTransport: stsTransport,
		STSDials: stsDials, UpstreamDials: upDials}, nil
}

// Close ends the upstream sessions and drops idle connections.
func (c *Core) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Pool.Close(ctx)
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
