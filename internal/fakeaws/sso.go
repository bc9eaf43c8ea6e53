package fakeaws

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSOAccount is an account of the fake IAM Identity Center portal, with
// the roles (permission sets) assigned to the person in it.
type SSOAccount struct {
	ID, Name, Email string
	Roles           []string
}

// SSOPortal fakes the AWS access portal (service sso: ListAccounts,
// ListAccountRoles, GetRoleCredentials, REST-JSON with the bearer token in
// x-amz-sso_bearer_token) and SSO OIDC's CreateToken (the refresh of the
// token aws sso login caches), as the SDK's clients call them
// (https://docs.aws.amazon.com/singlesignon/latest/PortalAPIReference/).
// Both answer on one server: point AWS_ENDPOINT_URL_SSO and
// AWS_ENDPOINT_URL_SSO_OIDC at it. Role credentials are registered in the
// keyring, so the fake AWS MCP Server verifies calls signed with them; a
// read-only permission set's credentials act as ReadOnlyAccess.
type SSOPortal struct {
	keys *Keyring
	// PageSize is the most accounts or roles a page holds (20, as the
	// portal's default, when a call asks for none).
	PageSize int
	// Latency delays every portal answer (benchmarks).
	Latency time.Duration

	mu        sync.Mutex
	accounts  []SSOAccount
	tokens    map[string]time.Time // access token → expiry
	refresh   map[string]bool      // refresh token → still valid
	serial    int
	throttle  int
	refusal   string         // the error CreateToken answers every refresh with ("": none)
	calls     map[string]int // operation → calls
	roleCreds map[string]int // account → GetRoleCredentials calls
}

// Fake client registration of the token cache (CreateToken checks them).
const (
	SSOClientID     = "fake-sso-client-id"
	SSOClientSecret = "fake-sso-client-secret"
	// SSOTokenPrefix starts every access token the fake issues, so a test
	// can tell that none reached a log or an answer.
	SSOTokenPrefix = "FAKESSOTOKEN-"
)

func newSSOPortal(keys *Keyring, accounts []SSOAccount) *SSOPortal {
	return &SSOPortal{keys: keys, accounts: accounts, tokens: map[string]time.Time{}, refresh: map[string]bool{},
		calls: map[string]int{}, roleCreds: map[string]int{}}
}

// Token is a token as aws sso login caches it.
type Token struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// IssueToken is a new sign-in: an access token valid for ttl and a
// refresh token.
func (p *SSOPortal) IssueToken(ttl time.Duration) Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serial++
	t := Token{AccessToken: fmt.Sprintf("%s%06d", SSOTokenPrefix, p.serial), RefreshToken: fmt.Sprintf("fake-refresh-%06d", p.serial),
		ExpiresAt: time.Now().Add(ttl)}
	p.tokens[t.AccessToken] = t.ExpiresAt
	p.refresh[t.RefreshToken] = true
	return t
}

// Revoke ends every session: access tokens answer 401, refresh tokens are
// refused (as after an administrator revoked the person's sessions).
func (p *SSOPortal) Revoke() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens, p.refresh = map[string]time.Time{}, map[string]bool{}
}

// Refresh refusals: how SSO OIDC's CreateToken refuses to refresh a token
// (https://docs.aws.amazon.com/singlesignon/latest/OIDCAPIReference/API_CreateToken.html#API_CreateToken_Errors).
const (
	// RefuseGrant: the refresh token was revoked or is past the session's
	// duration (what every user meets at the end of a portal session).
	RefuseGrant = "InvalidGrantException"
	// RefuseExpired: the token is expired and no longer valid.
	RefuseExpired = "ExpiredTokenException"
	// RefuseClient: the client registration (its secret) expired.
	RefuseClient = "InvalidClientException"
	// RefuseUnauthorizedClient: the client may no longer refresh.
	RefuseUnauthorizedClient = "UnauthorizedClientException"
)

// refusals maps each refusal to its HTTP status and OAuth error.
var refusals = map[string]struct {
	status int
	oauth  string
}{
	RefuseGrant:              {http.StatusBadRequest, "invalid_grant"},
	RefuseExpired:            {http.StatusBadRequest, "expired_token"},
	RefuseClient:             {http.StatusUnauthorized, "invalid_client"},
	RefuseUnauthorizedClient: {http.StatusBadRequest, "unauthorized_client"},
}

// RefuseRefresh makes every CreateToken refresh answer with one of the
// Refuse* errors; "" lets refreshes through again.
func (p *SSOPortal) RefuseRefresh(code string) {
	if _, ok := refusals[code]; !ok && code != "" {
		panic("fakeaws: no such refresh refusal: " + code)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusal = code
}

// Throttle makes the next n ListAccountRoles calls answer 429.
func (p *SSOPortal) Throttle(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle = n
}

// Calls returns how many times op was called (ListAccounts,
// ListAccountRoles, GetRoleCredentials, CreateToken).
func (p *SSOPortal) Calls(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// RoleCredentialCalls returns the GetRoleCredentials calls per account.
func (p *SSOPortal) RoleCredentialCalls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.roleCreds)
}

// ServeHTTP answers the portal's and SSO OIDC's operations.
func (p *SSOPortal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.Latency > 0 {
		time.Sleep(p.Latency)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		p.createToken(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/assignment/accounts":
		p.authorized(w, r, "ListAccounts", p.listAccounts)
	case r.Method == http.MethodGet && r.URL.Path == "/assignment/roles":
		p.authorized(w, r, "ListAccountRoles", p.listAccountRoles)
	case r.Method == http.MethodGet && r.URL.Path == "/federation/credentials":
		p.authorized(w, r, "GetRoleCredentials", p.getRoleCredentials)
	default:
		writeRESTError(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation: "+r.Method+" "+r.URL.Path)
	}
}

// authorized counts the call and checks its bearer token.
func (p *SSOPortal) authorized(w http.ResponseWriter, r *http.Request, op string, serve func(http.ResponseWriter, *http.Request)) {
	token := r.Header.Get("x-amz-sso_bearer_token")
	p.mu.Lock()
	p.calls[op]++
	expires, ok := p.tokens[token]
	throttled := op == "ListAccountRoles" && p.throttle > 0
	if throttled {
		p.throttle--
	}
	p.mu.Unlock()
	switch {
	case !ok || time.Now().After(expires):
		writeRESTError(w, http.StatusUnauthorized, "UnauthorizedException", "Session token not found or invalid")
	case throttled:
		writeRESTError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
	default:
		serve(w, r)
	}
}

// page cuts a list of n at next_token (an index) and max_result.
func (p *SSOPortal) page(r *http.Request, n int) (from, to int, next string) {
	from, _ = strconv.Atoi(r.URL.Query().Get("next_token"))
	size := p.PageSize
	if size <= 0 {
		size = 20
	}
	if m, err := strconv.Atoi(r.URL.Query().Get("max_result")); err == nil && m > 0 && m < size {
		size = m
	}
	to = min(n, from+size)
	if to < n {
		next = strconv.Itoa(to)
	}
	return max(0, min(from, n)), to, next
}

func (p *SSOPortal) listAccounts(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	accts := append([]SSOAccount(nil), p.accounts...)
	p.mu.Unlock()
	from, to, next := p.page(r, len(accts))
	list := []map[string]string{}
	for _, a := range accts[from:to] {
		list = append(list, map[string]string{"accountId": a.ID, "accountName": a.Name, "emailAddress": a.Email})
	}
	out := map[string]any{"accountList": list}
	if next != "" {
		out["nextToken"] = next
	}
	writeRESTJSON(w, out)
}

func (p *SSOPortal) account(id string) (SSOAccount, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.accounts {
		if a.ID == id {
			return a, true
		}
	}
	return SSOAccount{}, false
}

func (p *SSOPortal) listAccountRoles(w http.ResponseWriter, r *http.Request) {
	a, ok := p.account(r.URL.Query().Get("account_id"))
	if !ok {
		writeRESTError(w, http.StatusForbidden, "ForbiddenException", "No access")
		return
	}
	roles := append([]string(nil), a.Roles...)
	sort.Strings(roles)
	from, to, next := p.page(r, len(roles))
	list := []map[string]string{}
	for _, role := range roles[from:to] {
		list = append(list, map[string]string{"accountId": a.ID, "roleName": role})
	}
	out := map[string]any{"roleList": list}
	if next != "" {
		out["nextToken"] = next
	}
	writeRESTJSON(w, out)
}

func (p *SSOPortal) getRoleCredentials(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, ok := p.account(q.Get("account_id"))
	role := q.Get("role_name")
	assigned := false
	for _, have := range a.Roles {
		assigned = assigned || have == role
	}
	if !ok || !assigned {
		writeRESTError(w, http.StatusForbidden, "ForbiddenException", "No access")
		return
	}
	p.mu.Lock()
	p.roleCreds[a.ID]++
	p.serial++
	serial := p.serial
	p.mu.Unlock()
	cred := p.issue(a.ID, role, serial, time.Now().Add(time.Hour))
	writeRESTJSON(w, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId": cred.AccessKeyID, "secretAccessKey": cred.SecretAccessKey, "sessionToken": cred.SessionToken,
		"expiration": cred.Expires.UnixMilli(),
	}})
}

// ReadOnlyPermissionSet reports whether the fake treats a permission set
// as read-only (its credentials act as ReadOnlyAccess).
func ReadOnlyPermissionSet(role string) bool {
	return strings.HasPrefix(role, "ReadOnly") || strings.HasPrefix(role, "ViewOnly") || role == "SecurityAudit"
}

// issue registers the credentials of a permission set's role.
func (p *SSOPortal) issue(account, role string, serial int, expires time.Time) Credential {
	akid := fmt.Sprintf("ASIASSO%s%05d", account[:8], serial%100000)
	mac := hmac.New(sha256.New, []byte("fake-sso-secret"))
	mac.Write([]byte(akid))
	sum := mac.Sum(nil)
	cred := Credential{
		AccessKeyID:     akid,
		SecretAccessKey: hex.EncodeToString(sum)[:40],
		SessionToken:    "IQoJb3JpZ2luX2Vj" + base64.RawStdEncoding.EncodeToString(sum),
		Account:         account,
		Principal:       fmt.Sprintf("arn:aws:sts::%s:assumed-role/AWSReservedSSO_%s_0123456789abcdef/person@example.com", account, role),
		SessionName:     "person@example.com",
		Expires:         expires,
	}
	if ReadOnlyPermissionSet(role) {
		cred.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	}
	p.keys.Add(cred)
	return cred
}

// createToken refreshes a cached token (grant_type refresh_token).
func (p *SSOPortal) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID, ClientSecret, GrantType, RefreshToken string
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	p.mu.Lock()
	p.calls["CreateToken"]++
	valid := p.refresh[in.RefreshToken]
	refusal := p.refusal
	p.mu.Unlock()
	switch {
	case refusal != "":
		writeOIDCError(w, refusals[refusal].status, refusal, refusals[refusal].oauth)
	case in.ClientID != SSOClientID || in.ClientSecret != SSOClientSecret:
		writeOIDCError(w, http.StatusUnauthorized, "InvalidClientException", "invalid_client")
	case in.GrantType != "refresh_token" || !valid:
		writeOIDCError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant")
	default:
		t := p.IssueToken(8 * time.Hour)
		writeRESTJSON(w, map[string]any{"accessToken": t.AccessToken, "expiresIn": 8 * 3600, "refreshToken": t.RefreshToken, "tokenType": "Bearer"})
	}
}

func writeRESTJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeRESTError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// writeOIDCError answers as SSO OIDC does: the error type in the
// X-Amzn-Errortype header, and the OAuth error and its description in the
// body ({"error", "error_description"}).
func writeOIDCError(w http.ResponseWriter, status int, code, oauthError string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": oauthError, "error_description": "the refresh was refused (" + code + ")"})
}

// WriteSSOLogin writes what `aws configure sso-session` and `aws sso login
// --sso-session name` leave in a home directory: the [sso-session] section
// of ~/.aws/config and the token cache ~/.aws/sso/cache/<sha1 of
// name>.json, with the client registration that lets the SDK refresh it.
func WriteSSOLogin(home, name, startURL, region string, t Token) error {
	dir := filepath.Join(home, ".aws")
	if err := os.MkdirAll(filepath.Join(dir, "sso", "cache"), 0o700); err != nil {
		return err
	}
	config := fmt.Sprintf("[sso-session %s]\nsso_start_url = %s\nsso_region = %s\nsso_registration_scopes = sso:account:access\n", name, startURL, region)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		return err
	}
	return WriteSSOToken(home, name, startURL, region, t)
}

// WriteSSOToken writes the token cache alone (a new aws sso login).
func WriteSSOToken(home, name, startURL, region string, t Token) error {
	sum := sha1.Sum([]byte(name))
	cache, _ := json.Marshal(map[string]string{
		"startUrl": startURL, "region": region, "accessToken": t.AccessToken,
		"expiresAt": t.ExpiresAt.UTC().Format(time.RFC3339), "clientId": SSOClientID, "clientSecret": SSOClientSecret,
		"registrationExpiresAt": time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339), "refreshToken": t.RefreshToken,
	})
	return os.WriteFile(filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json"), cache, 0o600)
}

// GenerateSSOAccounts returns n portal accounts; every account has
// ReadOnlyAccess except every seventh (AdministratorAccess only) and every
// eleventh (only a role named Billing); every third also has
// AdministratorAccess.
func GenerateSSOAccounts(n int) []SSOAccount {
	out := make([]SSOAccount, n)
	for i := range n {
		id := fmt.Sprintf("3%011d", i+1)
		a := SSOAccount{ID: id, Name: fmt.Sprintf("team-%03d", i+1), Email: fmt.Sprintf("aws+%03d@example.com", i+1)}
		switch {
		case i%11 == 10:
			a.Roles = []string{"Billing"}
		case i%7 == 6:
			a.Roles = []string{"AdministratorAccess"}
		case i%3 == 0:
			a.Roles = []string{"AdministratorAccess", "ReadOnlyAccess"}
		default:
			a.Roles = []string{"ReadOnlyAccess"}
		}
		out[i] = a
	}
	return out
}
