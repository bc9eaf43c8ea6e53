package fakeaws

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// OrgAccount is one account of the fake organization.
type OrgAccount struct {
	ID     string
	Name   string
	OUPath string // "Root/Workloads/Prod"
	// State is ACTIVE, SUSPENDED or PENDING_ACTIVATION; LegacyStatusOnly
	// answers it only in the older Status field.
	State            string
	LegacyStatusOnly bool
	Tags             map[string]string
	// DelegatedAdminFor are the service principals this account is the
	// delegated administrator for.
	DelegatedAdminFor []string
}

// orgPageSize is the most items the fake returns per page.
const orgPageSize = 20

// Organizations is a fake of the AWS Organizations JSON 1.1 API (ListRoots,
// ListOrganizationalUnitsForParent, ListAccountsForParent,
// ListTagsForResource, ListDelegatedAdministrators,
// ListDelegatedServicesForAccount), SigV4-verified, paging at most 20
// items, with injectable TooManyRequestsException and a denial of the
// delegated-administrator calls (AccessDeniedException, as for an identity
// other than the management account). It counts calls per operation.
// It is safe for concurrent use.
type Organizations struct {
	verifier Verifier

	mu       sync.Mutex
	rootID   string
	ous      map[string][]ouEntry // parent id → child OUs
	accounts map[string][]OrgAccount
	byID     map[string]OrgAccount
	paths    map[string]string // OU path → id
	calls    map[string]int
	throttle int
	// denyDelegated answers the delegated-administrator calls with
	// AccessDeniedException.
	denyDelegated bool
}

// DenyDelegatedAdmins makes ListDelegatedAdministrators and
// ListDelegatedServicesForAccount answer AccessDeniedException.
func (o *Organizations) DenyDelegatedAdmins(deny bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.denyDelegated = deny
}

type ouEntry struct{ id, name string }

func newOrganizations(keys *Keyring) *Organizations {
	return &Organizations{verifier: Verifier{Keys: keys, Service: "organizations"}, calls: map[string]int{}}
}

// Load replaces the organization with these accounts; OUs are created from
// their paths.
func (o *Organizations) Load(accts []OrgAccount) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rootID = "r-ab12"
	o.ous = map[string][]ouEntry{}
	o.accounts = map[string][]OrgAccount{}
	o.byID = map[string]OrgAccount{}
	o.paths = map[string]string{"Root": o.rootID}
	for _, a := range accts {
		parentID := o.ensurePath(a.OUPath)
		o.accounts[parentID] = append(o.accounts[parentID], a)
		o.byID[a.ID] = a
	}
}

// ensurePath creates the OUs of a path and returns the last one's id.
func (o *Organizations) ensurePath(path string) string {
	if id, ok := o.paths[path]; ok {
		return id
	}
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return o.rootID
	}
	parentID := o.ensurePath(path[:i])
	h := fnv.New32a()
	h.Write([]byte(path))
	id := fmt.Sprintf("ou-ab12-%08x", h.Sum32())
	o.paths[path] = id
	o.ous[parentID] = append(o.ous[parentID], ouEntry{id: id, name: path[i+1:]})
	return id
}

// OUID returns the id of the OU at path ("Root" gives the root id).
func (o *Organizations) OUID(path string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paths[path]
}

// Throttle makes the next n calls fail with TooManyRequestsException.
func (o *Organizations) Throttle(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttle = n
}

// Calls returns how many calls each operation received.
func (o *Organizations) Calls() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.calls)
}

// TotalCalls returns how many calls were received, throttled ones included.
func (o *Organizations) TotalCalls() int {
	n := 0
	for _, v := range o.Calls() {
		n += v
	}
	return n
}

// ServeHTTP answers JSON 1.1 requests.
func (o *Organizations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSONError(w, 400, "InvalidInputException", "unreadable body")
		return
	}
	if _, apiErr := o.verifier.Verify(r, body); apiErr != nil {
		writeJSONError(w, apiErr.Status, apiErr.Code, apiErr.Message)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSOrganizationsV20161128.")
	if !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeJSONError(w, 400, "InvalidInputException", "want X-Amz-Target AWSOrganizationsV20161128.<op> and application/x-amz-json-1.1")
		return
	}
	var in struct {
		ParentID   string `json:"ParentId"`
		ResourceID string `json:"ResourceId"`
		AccountID  string `json:"AccountId"`
		Principal  string `json:"ServicePrincipal"`
		NextToken  string `json:"NextToken"`
		MaxResults int    `json:"MaxResults"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSONError(w, 400, "InvalidInputException", "malformed JSON")
			return
		}
	}
	o.mu.Lock()
	o.calls[op]++
	throttled := o.throttle > 0
	if throttled {
		o.throttle--
	}
	o.mu.Unlock()
	if throttled {
		writeJSONError(w, 400, "TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress. Try again later.")
		return
	}
	limit := orgPageSize
	if in.MaxResults > 0 && in.MaxResults < limit {
		limit = in.MaxResults
	}
	start, _ := strconv.Atoi(in.NextToken)

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.denyDelegated && (op == "ListDelegatedAdministrators" || op == "ListDelegatedServicesForAccount") {
		writeJSONError(w, 400, "AccessDeniedException", "You don't have permissions to access this resource.")
		return
	}
	switch op {
	case "ListDelegatedAdministrators":
		var admins []OrgAccount
		for _, a := range o.byID {
			if len(a.DelegatedAdminFor) > 0 && (in.Principal == "" || slices.Contains(a.DelegatedAdminFor, in.Principal)) {
				admins = append(admins, a)
			}
		}
		sort.Slice(admins, func(i, j int) bool { return admins[i].ID < admins[j].ID })
		page, next := pageOf(len(admins), start, limit)
		items := []map[string]any{}
		for _, a := range admins[page[0]:page[1]] {
			items = append(items, map[string]any{
				"Id": a.ID, "Name": a.Name, "Email": strings.ToLower(a.Name) + "@example.com", "State": a.State, "Status": a.State,
				"Arn": "arn:aws:organizations::111111111111:account/o-fake/" + a.ID, "JoinedMethod": "CREATED", "JoinedTimestamp": 1.6e9,
				"DelegationEnabledDate": 1.7e9,
			})
		}
		writeJSON(w, withToken(map[string]any{"DelegatedAdministrators": items}, next))
	case "ListDelegatedServicesForAccount":
		a, ok := o.byID[in.AccountID]
		switch {
		case !ok:
			writeJSONError(w, 400, "AccountNotFoundException", "We can't find an AWS account with the AccountId that you specified.")
			return
		case len(a.DelegatedAdminFor) == 0:
			writeJSONError(w, 400, "AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization.")
			return
		}
		page, next := pageOf(len(a.DelegatedAdminFor), start, limit)
		items := []map[string]any{}
		for _, p := range a.DelegatedAdminFor[page[0]:page[1]] {
			items = append(items, map[string]any{"ServicePrincipal": p, "DelegationEnabledDate": 1.7e9})
		}
		writeJSON(w, withToken(map[string]any{"DelegatedServices": items}, next))
	case "ListRoots":
		writeJSON(w, map[string]any{"Roots": []map[string]any{{
			"Id": o.rootID, "Name": "Root", "Arn": "arn:aws:organizations::111111111111:root/o-fake/" + o.rootID, "PolicyTypes": []any{},
		}}})
	case "ListOrganizationalUnitsForParent":
		children, ok := o.ous[in.ParentID]
		if !ok && !o.isParent(in.ParentID) {
			writeJSONError(w, 400, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
			return
		}
		page, next := pageOf(len(children), start, limit)
		items := []map[string]any{}
		for _, c := range children[page[0]:page[1]] {
			items = append(items, map[string]any{"Id": c.id, "Name": c.name, "Arn": "arn:aws:organizations::111111111111:ou/o-fake/" + c.id})
		}
		writeJSON(w, withToken(map[string]any{"OrganizationalUnits": items}, next))
	case "ListAccountsForParent":
		if !o.isParent(in.ParentID) {
			writeJSONError(w, 400, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
			return
		}
		accts := o.accounts[in.ParentID]
		page, next := pageOf(len(accts), start, limit)
		items := []map[string]any{}
		for _, a := range accts[page[0]:page[1]] {
			item := map[string]any{
				"Id": a.ID, "Name": a.Name, "Email": strings.ToLower(a.Name) + "@example.com",
				"Arn": "arn:aws:organizations::111111111111:account/o-fake/" + a.ID, "JoinedMethod": "CREATED", "JoinedTimestamp": 1.6e9,
			}
			status := a.State
			if status == "PENDING_ACTIVATION" {
				status = "PENDING_CLOSURE"
			}
			item["Status"] = status
			if !a.LegacyStatusOnly {
				item["State"] = a.State
			}
			items = append(items, item)
		}
		writeJSON(w, withToken(map[string]any{"Accounts": items}, next))
	case "ListTagsForResource":
		a, ok := o.byID[in.ResourceID]
		if !ok {
			writeJSONError(w, 400, "TargetNotFoundException", "We can't find a target with the TargetId that you specified.")
			return
		}
		keys := make([]string, 0, len(a.Tags))
		for k := range a.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		page, next := pageOf(len(keys), start, limit)
		items := []map[string]string{}
		for _, k := range keys[page[0]:page[1]] {
			items = append(items, map[string]string{"Key": k, "Value": a.Tags[k]})
		}
		writeJSON(w, withToken(map[string]any{"Tags": items}, next))
	default:
		writeJSONError(w, 400, "UnknownOperationException", "unknown operation "+op)
	}
}

func (o *Organizations) isParent(id string) bool {
	for _, pid := range o.paths {
		if pid == id {
			return true
		}
	}
	return false
}

// pageOf returns the [from, to) range of a page and the next token.
func pageOf(n, start, limit int) ([2]int, string) {
	start = min(max(start, 0), n)
	end := min(start+limit, n)
	next := ""
	if end < n {
		next = strconv.Itoa(end)
	}
	return [2]int{start, end}, next
}

func withToken(m map[string]any, next string) map[string]any {
	if next != "" {
		m["NextToken"] = next
	}
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// SecurityDelegations are the service principals GenerateOrg's security
// account administers for the organization.
var SecurityDelegations = []string{"access-analyzer.amazonaws.com", "config.amazonaws.com", "guardduty.amazonaws.com",
	"inspector2.amazonaws.com", "securityhub.amazonaws.com"}

// GenerateOrg returns a deterministic organization of n accounts in nested
// OUs, with tags and two delegated administrators (the first account of
// Root/Security for SecurityDelegations, the first of
// Root/Infrastructure/Network for Resource Explorer); every tenth account (and the whole Root/Suspended OU) is
// SUSPENDED, and some accounts report only the legacy Status field.
func GenerateOrg(n int) []OrgAccount {
	ous := []struct{ path, env string }{
		{"Root/Workloads/Prod", "prod"}, {"Root/Workloads/Prod/Payments", "prod"}, {"Root/Workloads/Dev", "dev"},
		{"Root/Workloads/Staging", "staging"}, {"Root/Security", "security"}, {"Root/Infrastructure/Network", "shared"},
		{"Root/Sandbox", "sandbox"}, {"Root", "management"},
	}
	teams := []string{"web", "data", "payments", "ml", "platform"}
	out := make([]OrgAccount, 0, n)
	for i := 0; i < n; i++ {
		ou := ous[i%len(ous)]
		a := OrgAccount{
			ID:     fmt.Sprintf("5%011d", i+1),
			Name:   fmt.Sprintf("%s-%s-%03d", ou.env, teams[i%len(teams)], i+1),
			OUPath: ou.path,
			State:  "ACTIVE",
			Tags:   map[string]string{"env": ou.env, "team": teams[i%len(teams)], "cost-center": fmt.Sprintf("cc-%d", 100+i%7)},
		}
		if i%10 == 9 {
			a.State = "SUSPENDED"
		}
		if i%13 == 5 {
			a.LegacyStatusOnly = true
		}
		if i%17 == 3 {
			a.Tags = nil
		}
		switch i {
		case 4: // the first account of Root/Security audits the organization
			a.DelegatedAdminFor = SecurityDelegations
		case 5: // the first of Root/Infrastructure/Network holds its inventory
			a.DelegatedAdminFor = []string{"resource-explorer-2.amazonaws.com"}
		}
		out = append(out, a)
	}
	for i := 0; i < 5; i++ {
		out = append(out, OrgAccount{ID: fmt.Sprintf("6%011d", i+1), Name: fmt.Sprintf("closed-%d", i+1), OUPath: "Root/Suspended", State: "SUSPENDED"})
	}
	return out
}
