package fakeaws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// STS is a fake of the STS Query API: AssumeRole and GetCallerIdentity,
// SigV4-verified, with XML answers and errors in STS's format. It issues
// deterministic temporary credentials per account and records every call.
// Faults (AccessDenied, Throttling, latency, a required ExternalId) are
// injected per account. It is safe for concurrent use.
type STS struct {
	keys     *Keyring
	verifier Verifier
	secret   []byte

	mu          sync.Mutex
	roleName    string
	known       map[string]bool
	denied      map[string]string
	throttle    map[string]int
	latency     map[string]time.Duration
	externalIDs map[string]string
	lifetime    time.Duration
	serial      int
	calls       []AssumeRoleCall
	callerCalls int
	unavailable bool
	// inflight and maxInflight count AssumeRole requests being answered.
	inflight, maxInflight int
}

// AssumeRoleCall records one AssumeRole request the fake received.
type AssumeRoleCall struct {
	Account         string
	RoleARN         string
	RoleSessionName string
	ExternalID      string
	DurationSeconds int
	PolicyARNs      []string
	// Policy is the inline session policy (JSON), if any.
	Policy string
	// SourceIdentity is the sts:SourceIdentity asked for, if any.
	SourceIdentity string
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// Result is "ok" or the error code answered.
	Result string
}

func newSTS(keys *Keyring, roleName, region string) *STS {
	return &STS{
		keys:        keys,
		verifier:    Verifier{Keys: keys, Service: "sts", Region: region},
		secret:      []byte("fake-sts-signing-seed"),
		roleName:    roleName,
		known:       map[string]bool{},
		denied:      map[string]string{},
		throttle:    map[string]int{},
		latency:     map[string]time.Duration{},
		externalIDs: map[string]string{},
	}
}

// AddAccount makes roles in account assumable.
func (s *STS) AddAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known[account] = true
}

// Deny makes AssumeRole into account fail with AccessDenied.
func (s *STS) Deny(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[account] = "trust"
}

// Allow undoes Deny.
func (s *STS) Allow(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, account)
}

// Throttle makes the next n AssumeRole calls into account fail with Throttling.
func (s *STS) Throttle(account string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[account] = n
}

// SetLatency delays AssumeRole into account by d.
func (s *STS) SetLatency(account string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[account] = d
}

// RequireExternalID makes AssumeRole into account require this ExternalId;
// "" removes the requirement.
func (s *STS) RequireExternalID(account, externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if externalID == "" {
		delete(s.externalIDs, account)
		return
	}
	s.externalIDs[account] = externalID
}

// SetLifetime makes issued credentials expire after d instead of the
// requested DurationSeconds (to test refresh).
func (s *STS) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetUnavailable makes every request fail with a 503 ServiceUnavailable.
func (s *STS) SetUnavailable(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailable = down
}

// Calls returns every AssumeRole call received so far.
func (s *STS) Calls() []AssumeRoleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleCall(nil), s.calls...)
}

// AssumeRoleCount returns how many AssumeRole calls named account ("" for all).
func (s *STS) AssumeRoleCount(account string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if account == "" || c.Account == account {
			n++
		}
	}
	return n
}

// MaxAssumeRoleInflight returns the most AssumeRole requests (past their
// validation) answered at once.
func (s *STS) MaxAssumeRoleInflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInflight
}

// CallerIdentityCount returns how many GetCallerIdentity calls were received.
func (s *STS) CallerIdentityCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callerCalls
}

// ServeHTTP answers STS Query API requests.
func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeSTSError(w, &APIError{400, "InvalidInput", "unreadable body"})
		return
	}
	s.mu.Lock()
	down := s.unavailable
	s.mu.Unlock()
	if down {
		writeSTSError(w, &APIError{503, "ServiceUnavailable", "Service is unavailable"})
		return
	}
	caller, apiErr := s.verifier.Verify(r, body)
	if apiErr != nil {
		writeSTSError(w, apiErr)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeSTSError(w, &APIError{400, "MalformedQueryString", "malformed form body"})
		return
	}
	if form.Get("Version") != "2011-06-15" {
		writeSTSError(w, &APIError{400, "InvalidAction", "Version must be 2011-06-15"})
		return
	}
	switch form.Get("Action") {
	case "AssumeRole":
		s.assumeRole(w, r, caller, form)
	case "GetCallerIdentity":
		s.mu.Lock()
		s.callerCalls++
		s.mu.Unlock()
		userID := "AIDAFAKEUSER"
		if caller.SessionName != "" {
			userID = "AROAFAKEROLE:" + caller.SessionName
		}
		writeXML(w, fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, xmlEscape(caller.Principal), userID, caller.Account, requestID()))
	default:
		writeSTSError(w, &APIError{400, "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15", form.Get("Action"))})
	}
}

var (
	// A bounded repetition such as {1,512} compiles slowly (milliseconds of
	// init in every binary linking the fakes); the length is checked apart.
	roleARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/([\w+=,.@/-]+)$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

func (s *STS) assumeRole(w http.ResponseWriter, r *http.Request, caller Credential, form url.Values) {
	call := AssumeRoleCall{
		RoleARN:         form.Get("RoleArn"),
		RoleSessionName: form.Get("RoleSessionName"),
		ExternalID:      form.Get("ExternalId"),
		SourceIdentity:  form.Get("SourceIdentity"),
		UserAgent:       r.Header.Get("User-Agent"),
	}
	call.DurationSeconds, _ = strconv.Atoi(form.Get("DurationSeconds"))
	for i := 1; ; i++ {
		arn := form.Get(fmt.Sprintf("PolicyArns.member.%d.arn", i))
		if arn == "" {
			break
		}
		call.PolicyARNs = append(call.PolicyARNs, arn)
	}
	call.Policy = form.Get("Policy")
	m := roleARNPattern.FindStringSubmatch(call.RoleARN)
	if m != nil && len(m[2]) > 512 {
		m = nil
	}
	if m != nil {
		call.Account = m[1]
	}
	fail := func(e *APIError) {
		call.Result = e.Code
		s.record(call)
		writeSTSError(w, e)
	}
	if m == nil {
		fail(&APIError{400, "ValidationError", fmt.Sprintf("%q is not a valid role ARN", call.RoleARN)})
		return
	}
	if n := len(call.RoleSessionName); n < 2 || n > 64 || !sessionNamePattern.MatchString(call.RoleSessionName) {
		fail(&APIError{400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"})
		return
	}
	if n := len(call.SourceIdentity); call.SourceIdentity != "" && (n < 2 || n > 64 || !sessionNamePattern.MatchString(call.SourceIdentity)) {
		fail(&APIError{400, "ValidationError", "1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"})
		return
	}
	if e := validateSessionPolicies(call.Policy, call.PolicyARNs); e != nil {
		fail(e)
		return
	}
	if call.DurationSeconds == 0 {
		call.DurationSeconds = 3600
	}
	if call.DurationSeconds < 900 || call.DurationSeconds > 43200 {
		fail(&APIError{400, "ValidationError", "DurationSeconds must be between 900 and 43200"})
		return
	}

	s.mu.Lock()
	delay := s.latency[call.Account]
	throttled := s.throttle[call.Account] > 0
	if throttled {
		s.throttle[call.Account]--
	}
	_, denied := s.denied[call.Account]
	known := s.known[call.Account]
	wantExt, needsExt := s.externalIDs[call.Account]
	roleName := s.roleName
	lifetime := s.lifetime
	s.serial++
	serial := s.serial
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			fail(&APIError{499, "RequestAborted", "client went away"})
			return
		}
	}
	if throttled {
		fail(&APIError{400, "Throttling", "Rate exceeded"})
		return
	}
	notAuthorized := &APIError{403, "AccessDenied", fmt.Sprintf(
		"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.Principal, call.RoleARN)}
	if denied || !known || (m[2] != roleName && !strings.HasSuffix(m[2], "/"+roleName)) {
		fail(notAuthorized)
		return
	}
	if needsExt && call.ExternalID != wantExt {
		fail(notAuthorized)
		return
	}

	if lifetime == 0 {
		lifetime = time.Duration(call.DurationSeconds) * time.Second
	}
	cred := s.issue(call, serial, time.Now().Add(lifetime))
	call.Result = "ok"
	s.record(call)
	writeXML(w, fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAFAKEROLE:%s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, xmlEscape(cred.Principal), call.RoleSessionName, cred.AccessKeyID, cred.SecretAccessKey,
		cred.SessionToken, cred.Expires.UTC().Format("2006-01-02T15:04:05.000Z"), requestID()))
}

// issue creates and registers deterministic temporary credentials.
func (s *STS) issue(call AssumeRoleCall, serial int, expires time.Time) Credential {
	akid := fmt.Sprintf("ASIA%s%04d", call.Account, serial%10000)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(akid))
	sum := mac.Sum(nil)
	roleName := call.RoleARN[strings.LastIndex(call.RoleARN, "/")+1:]
	cred := Credential{
		AccessKeyID:     akid,
		SecretAccessKey: hex.EncodeToString(sum)[:40],
		SessionToken:    "FQoGZXIvYXdzE" + base64.RawStdEncoding.EncodeToString(append(sum, []byte(akid)...)),
		Account:         call.Account,
		Principal:       fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", call.Account, roleName, call.RoleSessionName),
		SessionName:     call.RoleSessionName,
		PolicyARNs:      call.PolicyARNs,
		Policy:          call.Policy,
		Expires:         expires,
	}
	s.keys.Add(cred)
	return cred
}

func (s *STS) record(c AssumeRoleCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func writeSTSError(w http.ResponseWriter, e *APIError) {
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>%s</RequestId>
</ErrorResponse>`, kind, e.Code, xmlEscape(e.Message), requestID())
}

func writeXML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, body)
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

var requestSeq atomic.Int64

// requestID returns a fresh AWS-style request id.
func requestID() string {
	return fmt.Sprintf("00000000-fake-4000-8000-%012d", requestSeq.Add(1))
}
