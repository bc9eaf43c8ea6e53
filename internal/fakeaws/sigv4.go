// Package fakeaws holds local fakes of the AWS services the proxy talks to:
// STS (AssumeRole, GetCallerIdentity), the AWS MCP Server (Streamable HTTP)
// and AWS Organizations. Every fake verifies SigV4 the way AWS does, with
// its own implementation of the algorithm (not the SDK's signer), so a request
// the fakes accept is one the real services would accept.
//
// It is used by tests and by the demo command, never by the product packages.
package fakeaws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credential is a key pair the fakes issued or were configured with.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Account owns the credential; Principal is its ARN.
	Account   string
	Principal string
	// SessionName and PolicyARNs are those of the AssumeRole that issued it.
	SessionName string
	PolicyARNs  []string
	// Policy is the inline session policy of that AssumeRole ("" for none).
	Policy string
	// Expires is when the credential stops working; zero means never.
	Expires time.Time
}

// Keyring maps access key ids to the credentials the fakes know.
// It is safe for concurrent use.
type Keyring struct {
	mu    sync.RWMutex
	byKey map[string]Credential
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{byKey: make(map[string]Credential)} }

// Add registers c under its access key id.
func (k *Keyring) Add(c Credential) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.byKey[c.AccessKeyID] = c
}

// Get returns the credential with this access key id.
func (k *Keyring) Get(accessKeyID string) (Credential, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	c, ok := k.byKey[accessKeyID]
	return c, ok
}

// All returns every credential the keyring holds.
func (k *Keyring) All() []Credential {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]Credential, 0, len(k.byKey))
	for _, c := range k.byKey {
		out = append(out, c)
	}
	return out
}

// ExpireAccount makes every credential of account expired now, as if its
// session ended while a client still held it.
func (k *Keyring) ExpireAccount(account string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, c := range k.byKey {
		if c.Account == account && c.SessionToken != "" {
			c.Expires = time.Now().Add(-time.Second)
			k.byKey[id] = c
		}
	}
}

// APIError is an error answer of a fake service.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error renders the code and message.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// maxClockSkew is how far the request time may be from the server's.
const maxClockSkew = 5 * time.Minute

// Verifier checks SigV4-signed requests for one service.
type Verifier struct {
	Keys *Keyring
	// Service is the signing name the requests must be scoped to.
	Service string
	// Region is the region the requests must be scoped to; "" takes any.
	Region string
	// Now is the server's clock; time.Now when nil.
	Now func() time.Time
	// Mismatch, when it returns true for the signing credential, makes a
	// valid signature fail as a mismatch (to test how clients report it).
	Mismatch func(Credential) bool
	// S3 applies S3's rules: the path is not encoded a second time, and
	// the signed payload hash is the x-amz-content-sha256 header, which
	// must be present ("UNSIGNED-PAYLOAD" allowed).
	S3 bool
}

// Verify checks the signature of r, whose body has been read into body, and
// returns the credential that signed it. It checks what AWS checks: the
// scope (date, region, service), the time skew, the payload hash, that the
// host and date are signed, the session token of temporary credentials and
// their expiry, and the signature itself.
func (v *Verifier) Verify(r *http.Request, body []byte) (Credential, *APIError) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return Credential{}, &APIError{403, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	algo, rest, _ := strings.Cut(authz, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return Credential{}, &APIError{400, "IncompleteSignatureException", "Unsupported authorization type " + algo}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = val
		}
	}
	credential, signedHeaderList, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signedHeaderList == "" || signature == "" {
		return Credential{}, &APIError{400, "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature"}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return Credential{}, &APIError{400, "IncompleteSignatureException", "Credential must have the form AKID/date/region/service/aws4_request"}
	}
	akid, date, region, service := scope[0], scope[1], scope[2], scope[3]
	if service != v.Service {
		return Credential{}, &APIError{403, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'.", v.Service)}
	}
	if v.Region != "" && region != v.Region {
		return Credential{}, &APIError{403, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", region)}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return Credential{}, &APIError{400, "IncompleteSignatureException", "Missing or malformed X-Amz-Date"}
	}
	if date != amzDate[:8] {
		return Credential{}, &APIError{403, "InvalidSignatureException", "Credential date does not match X-Amz-Date"}
	}
	if d := now.Sub(signedAt); d > maxClockSkew || d < -maxClockSkew {
		return Credential{}, &APIError{403, "InvalidSignatureException", "Signature expired: request time is too far from the server time"}
	}
	signedHeaders := strings.Split(signedHeaderList, ";")
	if !slices.Contains(signedHeaders, "host") || !slices.Contains(signedHeaders, "x-amz-date") {
		return Credential{}, &APIError{403, "InvalidSignatureException", "SignedHeaders must include host and x-amz-date"}
	}
	cred, ok := v.Keys.Get(akid)
	if !ok {
		return Credential{}, &APIError{403, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if cred.SessionToken != "" || token != "" {
		if token != cred.SessionToken {
			return Credential{}, &APIError{403, "UnrecognizedClientException", "The security token included in the request is invalid."}
		}
		if !slices.Contains(signedHeaders, "x-amz-security-token") {
			return Credential{}, &APIError{403, "InvalidSignatureException", "X-Amz-Security-Token must be signed"}
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	if v.S3 && claimed == "" {
		return Credential{}, &APIError{400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"}
	}
	if claimed != "" && claimed != payloadHash && !(v.S3 && claimed == "UNSIGNED-PAYLOAD") {
		return Credential{}, &APIError{400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	if v.S3 {
		payloadHash = claimed
	}
	canonical := canonicalRequest(r, signedHeaders, payloadHash, !v.S3)
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{
		"AWS4-HMAC-SHA256", amzDate, strings.Join(scope[1:], "/"), hex.EncodeToString(crHash[:]),
	}, "\n")
	key := hmacSHA256([]byte("AWS4"+cred.SecretAccessKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) || (v.Mismatch != nil && v.Mismatch(cred)) {
		// As AWS does, the answer shows what the server signed.
		return Credential{}, &APIError{403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
			"The Canonical String for this request should have been\n'" + canonical + "'\n\nThe String-to-Sign should have been\n'" + stringToSign + "'\n"}
	}
	if !cred.Expires.IsZero() && !now.Before(cred.Expires) {
		return Credential{}, &APIError{403, "ExpiredTokenException", "The security token included in the request is expired"}
	}
	return cred, nil
}

// canonicalRequest builds the SigV4 canonical request of r; encodeTwice
// encodes the (already escaped) path once more, as every service but S3
// does.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string, encodeTwice bool) string {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if encodeTwice {
		path = strings.ReplaceAll(url.PathEscape(path), "%2F", "/")
	}

	query := r.URL.Query()
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		vals := append([]string(nil), query[k]...)
		sort.Strings(vals)
		for _, val := range vals {
			q = append(q, uriEncode(k)+"="+uriEncode(val))
		}
	}

	var headers strings.Builder
	for _, name := range signedHeaders {
		var value string
		switch name {
		case "host":
			value = r.Host
		case "content-length":
			value = r.Header.Get("Content-Length")
			if value == "" {
				value = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := slices.Clone(r.Header.Values(name))
			for i, val := range vals {
				vals[i] = strings.Join(strings.Fields(val), " ")
			}
			value = strings.Join(vals, ",")
		}
		headers.WriteString(name + ":" + value + "\n")
	}
	return strings.Join([]string{
		r.Method, path, strings.Join(q, "&"), headers.String(), strings.Join(signedHeaders, ";"), payloadHash,
	}, "\n")
}

func uriEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
