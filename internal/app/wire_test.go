package app

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// TestUpstreamTrustsTheSDKsCABundle: a custom CA bundle the SDK resolved
// (AWS_CA_BUNDLE, a profile's ca_bundle) is what the upstream transport
// trusts too; without one, the system roots, which do not know a private
// CA.
func TestUpstreamTrustsTheSDKsCABundle(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for _, c := range []struct {
		name    string
		opts    []func(*awsconfig.LoadOptions) error
		wantErr string
	}{
		{"a CA bundle", []func(*awsconfig.LoadOptions) error{awsconfig.WithCustomCABundle(bytes.NewReader(bundle))}, ""},
		{"the system roots", nil, "certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base, err := awsconfig.LoadDefaultConfig(context.Background(), append(c.opts,
				awsconfig.WithRegion("us-east-1"), awsconfig.WithSharedConfigFiles(nil), awsconfig.WithSharedCredentialsFiles(nil))...)
			if err != nil {
				t.Fatal(err)
			}
			tr := upstreamTransport(Config{}, base, Wiring{})
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
			if resp != nil {
				resp.Body.Close()
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("GET over the bundle's CA: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("GET without the CA: %v, want an error about the %s", err, c.wantErr)
			}
		})
	}
}
