package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ServiceName is the SigV4 service name of the AWS MCP Server.
const ServiceName = "aws-mcp"

// emptyPayloadHash is the SHA-256 of an empty body.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// SigningTransport is an http.RoundTripper that signs each request with
// SigV4 using Credentials, hashing the exact body bytes sent and adding the
// session token of temporary credentials. When the server answers 403 with
// an expired-token error it invalidates the cached credentials and sends the
// request once more with fresh ones.
type SigningTransport struct {
	// Base sends the signed request; http.DefaultTransport when nil.
	Base http.RoundTripper
	// Credentials signs the request; an *aws.CredentialsCache is invalidated
	// on an expired-token answer.
	Credentials aws.CredentialsProvider
	// Signer is shared by every account (it caches derived keys).
	Signer *v4.Signer
	// Service is the signing name ("aws-mcp").
	Service string
	// Region is the signing region: the endpoint's region, not the region a
	// query targets.
	Region string
	// Now returns the signing time; time.Now when nil.
	Now func() time.Time
}

// RoundTrip signs and sends req.
func (t *SigningTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.GetBody == nil {
		// Make the body re-readable once, so it can be hashed and resent.
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	} else if req.Body != nil {
		// Every attempt sends a fresh copy from GetBody.
		req.Body.Close()
	}
	hash, err := payloadHash(req)
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, hash)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		return resp, err
	}
	inv, ok := t.Credentials.(interface{ Invalidate() })
	if !ok || !isExpiredToken(resp) {
		return resp, nil
	}
	resp.Body.Close()
	inv.Invalidate()
	return t.send(req, hash)
}

// send signs a fresh clone of req and sends it.
func (t *SigningTransport) send(req *http.Request, hash string) (*http.Response, error) {
	creds, err := t.Credentials.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("credentials for signing: %w", err)
	}
	out := req.Clone(req.Context())
	out.Body = http.NoBody
	if req.GetBody != nil {
		if out.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
	}
	// Signing covers every header but Authorization and User-Agent, so they
	// must be final now; drop any stale signature of a resent request.
	out.Header.Del("Authorization")
	out.Header.Del("X-Amz-Security-Token")
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if err := t.Signer.SignHTTP(req.Context(), creds, out, hash, t.Service, t.Region, now().UTC()); err != nil {
		out.Body.Close()
		return nil, fmt.Errorf("sign request: %w", err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}

// payloadHash returns the hex SHA-256 of req's body without consuming it.
func payloadHash(req *http.Request) (string, error) {
	if req.GetBody == nil {
		return emptyPayloadHash, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return "", fmt.Errorf("request body: %w", err)
	}
	defer body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return "", fmt.Errorf("hash request body: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// isExpiredToken reports whether a 403 answer says the security token has
// expired. It leaves resp's body readable.
func isExpiredToken(resp *http.Response) bool {
	if strings.Contains(resp.Header.Get("X-Amzn-Errortype"), "ExpiredToken") {
		return true
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	return bytes.Contains(head, []byte("ExpiredToken")) ||
		bytes.Contains(head, []byte("security token included in the request is expired"))
}

// SigningRegion returns the SigV4 region of an AWS MCP Server endpoint: the
// region in an "aws-mcp.<region>.api.aws" host, else fallback.
func SigningRegion(endpoint, fallback string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fallback
	}
	host := u.Hostname()
	rest, ok := strings.CutPrefix(host, "aws-mcp.")
	if !ok {
		return fallback
	}
	region, _, ok := strings.Cut(rest, ".")
	if !ok || region == "" || !strings.HasSuffix(rest, ".api.aws") {
		return fallback
	}
	return region
}
