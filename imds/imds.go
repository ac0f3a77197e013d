// Package imds serves credentials over the protocols AWS SDKs already speak:
// the EC2 instance metadata service (IMDSv2) and the ECS container
// credentials endpoint. It answers from a Provider (the refreshers) and
// never calls upstream itself; every request passes a guard against
// browsers and DNS rebinding first.
//
// Of credd it imports clock and cred only. It logs no refusal itself: it
// tells each to Options.Refused, and the daemon folds them in its log (a
// looping client must not fill it). Nothing the daemon wires (the audit log's rotation, the configuration,
// the sign-ins) reaches it; internal/layers tests that it stays so.
package imds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// Provider hands out a profile's current credentials.
type Provider interface {
	Current(ctx context.Context, profile string) (cred.Credentials, error)
}

// Metrics observes served requests. Labels: endpoint, profile, HTTP status.
type Metrics interface {
	ObserveRequest(endpoint, profile string, status int, d time.Duration)
}

// Options configure a Handler.
type Options struct {
	Provider       Provider
	DefaultProfile string
	Region         string // for placement and the identity document
	// RegionFunc, if set, is called for the region instead, when a
	// request first needs it (and may be called again: it remembers its
	// answer itself). Working out a profile's region can mean loading its
	// AWS SDK configuration, which a start should not wait for.
	RegionFunc func() string
	// ClientToken returns the container endpoint's token (re-read by the
	// daemon when it is rotated).
	ClientToken func() []byte
	AllowV1     bool
	// Hosts are Host names accepted beyond loopback names and addresses,
	// e.g. the listen address of an extra listener.
	Hosts []string
	// Wait bounds how long a request waits for credentials being fetched
	// (SDK clients time out after 1 to 5 seconds).
	Wait      time.Duration
	MaxTokens int
	Clock     clock.Clock
	Logger    *slog.Logger
	Metrics   Metrics
	// Ops serves /metrics; nil answers 404 there.
	MetricsHandler http.Handler
	// Console makes console sign-in links for POST /v1/console (the
	// daemon; it calls upstream). Nil answers 404 there.
	Console Console
	// Attribute says who is on the other end of a request's connection
	// and what it may have (the daemon; once per connection, cheap per
	// request). Nil serves everything.
	Attribute func(*http.Request) Attribution
	// Audit is told of every credentials answer and every refusal. Nil:
	// none are recorded.
	Audit func(*http.Request, Event)
	// Refused is told of every refusal the daemon's log should show: the
	// 403s, and the 401 of a wrong container token (not that of a missing
	// IMDSv2 token, which SDKs meet when they probe). reason is a short
	// code (as Attribution.Reason), msg what the client was told. It may
	// be called from any request's goroutine and must not block. Nil:
	// refusals are not logged (each is still answered, and told to
	// Audit).
	Refused func(r *http.Request, reason, msg string)
}

// Handler serves the IMDS, container and operations endpoints.
type Handler struct {
	o      Options
	clock  clock.Clock
	log    *slog.Logger
	tokens *tokens
	hosts  atomic.Pointer[map[string]bool]
	// docs caches the encoded credentials documents per profile (string
	// -> *encodedDocs); see docFor.
	docs sync.Map
	// def holds the default profile and region, swapped on reload.
	def atomic.Pointer[defaults]
	// clients are the scoped clients' tokens (SetClients).
	clients atomic.Pointer[[]Client]
}

// defaults are the settings a reload may change. A request reads them
// once (status.def), so that a reload while it waits for credentials
// cannot pair one profile's credentials with another's name or region.
type defaults struct {
	profile string
	region  func() string
}

// SetDefaults changes the default profile (what IMDS lists and
// /v1/credentials serves) and the region IMDS reports, for a reload.
func (h *Handler) SetDefaults(profile, region string) {
	h.SetDefaultsFunc(profile, func() string { return region })
}

// SetDefaultsFunc is SetDefaults with the region worked out by region when
// a request first needs it (see Options.RegionFunc).
func (h *Handler) SetDefaultsFunc(profile string, region func() string) {
	h.def.Store(&defaults{profile: profile, region: region})
}

// Endpoint names used in metrics.
const (
	EndpointToken     = "imds-token"
	EndpointIMDS      = "imds"
	EndpointContainer = "container"
	EndpointConsole   = "console"
	EndpointOps       = "ops"
	EndpointRefused   = "refused"
)

// dockerHost and podmanHost are the names under which containers reach
// the host (Docker Desktop's loopback; podman's bridge gateway).
// Accepting them as a Host opens no rebinding hole: a web page cannot take
// on a name it does not control, and requests from pages are refused by
// Origin and Sec-Fetch-Site anyway.
const (
	dockerHost = "host.docker.internal"
	podmanHost = "host.containers.internal"
)

// MaxTokenTTL is the longest IMDSv2 session, as on EC2.
const MaxTokenTTL = 21600

const (
	ttlHeader       = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	tokenHeader     = "X-Aws-Ec2-Metadata-Token"
	imdsTimeFormat  = "2006-01-02T15:04:05Z"
	defaultWait     = 3 * time.Second
	defaultMaxToken = 10000
)

// New returns a Handler.
func New(o Options) *Handler {
	if o.Wait <= 0 {
		o.Wait = defaultWait
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = defaultMaxToken
	}
	if o.ClientToken == nil {
		o.ClientToken = func() []byte { return nil }
	}
	h := &Handler{
		o:      o,
		clock:  clock.Or(o.Clock),
		log:    o.Logger,
		tokens: newTokens(o.MaxTokens),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if o.RegionFunc != nil {
		h.SetDefaultsFunc(o.DefaultProfile, o.RegionFunc)
	} else {
		h.SetDefaults(o.DefaultProfile, o.Region)
	}
	h.SetHosts(o.Hosts)
	return h
}

// SetHosts replaces Options.Hosts, for a reload that changes listeners.
func (h *Handler) SetHosts(hosts []string) {
	m := map[string]bool{}
	for _, host := range append([]string{dockerHost, podmanHost}, hosts...) {
		if hn, _, err := net.SplitHostPort(host); err == nil {
			host = hn
		}
		m[strings.ToLower(strings.Trim(host, "[]"))] = true
	}
	h.hosts.Store(&m)
}

// status records what a handler answered, for metrics and the audit log.
type status struct {
	endpoint, profile string
	code              int
	start             time.Time // when the request arrived
	attr              Attribution
	// def are the handler's defaults as the request found them: read once.
	def         *defaults
	client      string // the token's client
	reason, msg string // why refused
	creds       bool   // credentials (or a console link) were answered
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := status{endpoint: EndpointRefused, start: time.Now(), def: h.def.Load()}
	h.serve(w, r, &st)
	if h.o.Metrics != nil {
		h.o.Metrics.ObserveRequest(st.endpoint, st.profile, st.code, time.Since(st.start))
	}
	if h.o.Audit != nil && (st.creds && st.code == http.StatusOK || st.code == http.StatusForbidden || st.code == http.StatusUnauthorized) {
		ep := st.endpoint
		switch ep {
		case EndpointRefused, EndpointToken:
			ep = endpointOf(r.URL.Path)
		}
		h.o.Audit(r, Event{Endpoint: ep, Profile: st.profile, Status: st.code, Client: st.client, Reason: st.reason, Message: st.msg})
	}
}

// refused answers 403 (JSON, the container endpoint's error shape, which
// every SDK shows) and tells Options.Refused.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, st *status, reason, msg string) {
	st.code, st.reason, st.msg = http.StatusForbidden, reason, msg
	fail(w, jsonError, st.code, msg)
	h.logRefusal(r, reason, msg)
}

// logRefusal tells Options.Refused of a refusal, for the daemon's log.
func (h *Handler) logRefusal(r *http.Request, reason, msg string) {
	if h.o.Refused != nil {
		h.o.Refused(r, reason, msg)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, st *status) {
	if msg := h.refuse(r); msg != "" {
		h.refused(w, r, st, "browser", msg)
		return
	}
	p := r.URL.Path
	if h.o.Attribute != nil && p != "/healthz" {
		st.attr = h.o.Attribute(r)
		if st.attr.Refusal != "" {
			h.refused(w, r, st, st.attr.Reason, st.attr.Refusal)
			return
		}
	}
	switch {
	case p == "/latest/api/token":
		st.endpoint = EndpointToken
		st.code = h.serveToken(w, r)
	case strings.HasPrefix(p, "/latest/"):
		st.endpoint = EndpointIMDS
		st.code = h.serveIMDS(w, r, st)
	case p == "/v1/credentials" || strings.HasPrefix(p, "/v1/credentials/"):
		st.endpoint = EndpointContainer
		st.code = h.serveContainer(w, r, st)
	case p == "/v1/console" || strings.HasPrefix(p, "/v1/console/"):
		st.endpoint = EndpointConsole
		st.code = h.serveConsole(w, r, st)
	case p == "/healthz":
		st.endpoint = EndpointOps
		st.code = http.StatusOK
		writeBody(w, st.code, "text/plain; charset=utf-8", []byte("ok\n"))
	case p == "/metrics" && h.o.MetricsHandler != nil:
		st.endpoint = EndpointOps
		st.code = http.StatusOK
		h.o.MetricsHandler.ServeHTTP(w, r)
	default:
		st.endpoint = EndpointOps
		st.code = http.StatusNotFound
		fail(w, plainError, st.code, "not found")
	}
}

// refuse returns why a request is refused, or "". Browsers send Origin on
// cross-origin requests and Sec-Fetch-Site on all modern ones; a rebinding
// page reaches us under its own host name.
func (h *Handler) refuse(r *http.Request) string {
	if !h.allowedHost(r.Host) {
		return "host " + strconv.Quote(r.Host) + " is not allowed (DNS rebinding protection); use 127.0.0.1 or localhost"
	}
	if _, ok := r.Header["Origin"]; ok {
		return "requests from web pages (Origin header) are refused"
	}
	if s, ok := r.Header["Sec-Fetch-Site"]; ok && (len(s) != 1 || s[0] != "none") {
		return "requests from web pages (Sec-Fetch-Site) are refused"
	}
	return ""
}

func (h *Handler) allowedHost(host string) bool {
	if host == "" {
		return false
	}
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return true
	}
	return (*h.hosts.Load())[strings.ToLower(host)]
}

func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		return fail(w, plainError, http.StatusMethodNotAllowed, "method not allowed: use PUT")
	}
	if fh := forwardedHeader(r.Header); fh != "" {
		msg := "forwarded requests are refused (" + fh + " header): ask credd directly, not through a proxy"
		h.logRefusal(r, "forwarded", msg)
		return fail(w, plainError, http.StatusForbidden, msg)
	}
	raw := r.Header.Get(ttlHeader)
	ttl, err := strconv.Atoi(raw)
	if err != nil || ttl < 1 || ttl > MaxTokenTTL {
		return fail(w, plainError, http.StatusBadRequest, ttlHeader+" must be a number of seconds from 1 to 21600")
	}
	now := h.clock.Now()
	tok := h.tokens.issue(now, now.Add(time.Duration(ttl)*time.Second))
	w.Header().Set(ttlHeader, strconv.Itoa(ttl))
	writeBody(w, http.StatusOK, "text/plain", []byte(tok))
	return http.StatusOK
}

// forwardHeaders mark a request a proxy passed on: X-Forwarded-For (what
// EC2 refuses), the standard Forwarded (RFC 7239) and Via (RFC 9110). An
// SSRF bug in a proxy on this machine must not get a session token.
var forwardHeaders = []string{"X-Forwarded-For", "Forwarded", "Via"}

// forwardedHeader names the first forwarding header r carries, or "".
func forwardedHeader(hd http.Header) string {
	for _, k := range forwardHeaders {
		if _, ok := hd[k]; ok {
			return k
		}
	}
	return ""
}

func (h *Handler) serveIMDS(w http.ResponseWriter, r *http.Request, st *status) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return fail(w, plainError, http.StatusMethodNotAllowed, "method not allowed")
	}
	if !h.o.AllowV1 && !h.tokens.valid(r.Header.Get(tokenHeader), h.clock.Now()) {
		st.reason, st.msg = "imds-token", "missing or expired IMDSv2 session token"
		return fail(w, plainError, http.StatusUnauthorized, "missing or expired IMDSv2 session token: PUT /latest/api/token first")
	}
	p := strings.TrimPrefix(r.URL.Path, "/latest/")
	switch {
	case p == "meta-data/iam/security-credentials/" || p == "meta-data/iam/security-credentials" ||
		p == "meta-data/iam/security-credentials-extended/" || p == "meta-data/iam/security-credentials-extended":
		st.profile = st.listed()
		if st.profile == "" {
			return fail(w, plainError, http.StatusNotFound, "no default profile is configured")
		}
		writeBody(w, http.StatusOK, "text/plain", []byte(st.profile))
		return http.StatusOK
	case strings.HasPrefix(p, "meta-data/iam/security-credentials/"):
		return h.serveIMDSCreds(w, r, strings.TrimPrefix(p, "meta-data/iam/security-credentials/"), false, st)
	case strings.HasPrefix(p, "meta-data/iam/security-credentials-extended/"):
		return h.serveIMDSCreds(w, r, strings.TrimPrefix(p, "meta-data/iam/security-credentials-extended/"), true, st)
	case p == "meta-data/iam/info":
		return h.serveInfo(w, r, st)
	case p == "meta-data/placement/region":
		return serveRegion(w, st.def.region(), "")
	case p == "meta-data/placement/availability-zone":
		return serveRegion(w, st.def.region(), "a")
	case p == "dynamic/instance-identity/document":
		return h.serveIdentity(w, r, st)
	}
	return fail(w, plainError, http.StatusNotFound, "not found")
}

// imdsDoc is the credentials document of EC2's metadata service.
type imdsDoc struct {
	Code            string
	LastUpdated     string
	Type            string
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      string
	AccountID       string `json:"AccountId,omitempty"`
}

// listed is the profile IMDS lists on the request's listener: its own,
// else the default.
func (st *status) listed() string {
	if st.attr.Profile != "" {
		return st.attr.Profile
	}
	return st.def.profile
}

func (h *Handler) serveIMDSCreds(w http.ResponseWriter, r *http.Request, profile string, extended bool, st *status) int {
	profile = strings.TrimSuffix(profile, "/")
	if msg := allowed(st.attr, nil, profile); msg != "" {
		st.profile = profile
		h.refused(w, r, st, "scope", msg)
		return st.code
	}
	st.creds = true
	c, code := h.current(w, r, profile, st, plainError)
	if code != http.StatusOK {
		return code
	}
	kind := docIMDS
	if extended {
		kind = docIMDSExtended
	}
	e, err := h.docFor(st.profile, c, kind)
	if err != nil {
		return fail(w, plainError, http.StatusInternalServerError, "encoding response failed")
	}
	return writeEncoded(w, *e)
}

// current asks the provider, bounded by the handler's wait, and writes the
// error response itself when there is nothing to serve.
func (h *Handler) current(w http.ResponseWriter, r *http.Request, profile string, st *status, f errorFormat) (cred.Credentials, int) {
	if profile == "" {
		profile = st.listed()
	}
	ctx := &waitContext{parent: r.Context(), deadline: st.start.Add(h.o.Wait)}
	defer ctx.release()
	c, err := h.o.Provider.Current(ctx, profile)
	if err != nil {
		return c, h.failFor(w, f, err, profile, st, "credentials not available")
	}
	st.profile = profile
	return c, http.StatusOK
}

// failFor answers the error of a request for profile's credentials or
// console link (what names it in the log).
func (h *Handler) failFor(w http.ResponseWriter, f errorFormat, err error, profile string, st *status, what string) int {
	if errors.Is(err, cred.ErrUnknownProfile) {
		return failWith(w, f, err, "unknown profile "+strconv.Quote(profile)) // 404, by its kind
	}
	st.profile = profile
	if !errors.Is(err, cred.ErrInvalid) {
		h.log.Warn(what, "profile", profile, "error", err)
	}
	return failWith(w, f, err, err.Error())
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request, st *status) int {
	c, code := h.current(w, r, "", st, plainError)
	if code != http.StatusOK {
		return code
	}
	acct := c.AccountID
	if acct == "" {
		acct = "000000000000"
	}
	// The instance profile is the profile whose credentials were served
	// (st.profile, set by current), never a default read again.
	return writeJSON(w, http.StatusOK, map[string]string{
		"Code":               "Success",
		"LastUpdated":        c.Issued.UTC().Format(imdsTimeFormat),
		"InstanceProfileArn": "arn:aws:iam::" + acct + ":instance-profile/" + st.profile,
		"InstanceProfileId":  instanceProfileID(st.profile),
	})
}

func serveRegion(w http.ResponseWriter, region, zone string) int {
	if region == "" {
		return fail(w, plainError, http.StatusNotFound, "no region is configured")
	}
	writeBody(w, http.StatusOK, "text/plain", []byte(region+zone))
	return http.StatusOK
}

func (h *Handler) serveIdentity(w http.ResponseWriter, r *http.Request, st *status) int {
	c, code := h.current(w, r, "", st, plainError)
	if code != http.StatusOK {
		return code
	}
	region := st.def.region()
	return writeJSON(w, http.StatusOK, map[string]string{
		"region":           region,
		"availabilityZone": region + "a",
		"accountId":        c.AccountID,
		"instanceId":       "i-credd",
		"architecture":     "x86_64",
		"imageId":          "ami-credd",
		"instanceType":     "credd.local",
		"pendingTime":      c.Issued.UTC().Format(imdsTimeFormat),
		"version":          "2017-09-30",
	})
}

// instanceProfileID derives a stable, EC2-shaped ID from the profile name.
func instanceProfileID(profile string) string {
	sum := sha256.Sum256([]byte(profile))
	return "AIPA" + strings.ToUpper(hex.EncodeToString(sum[:8]))
}

// containerDoc is the ECS container credentials document.
type containerDoc struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      string
	AccountID       string `json:"AccountId,omitempty"`
	RoleARN         string `json:"RoleArn,omitempty"`
}

func (h *Handler) serveContainer(w http.ResponseWriter, r *http.Request, st *status) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return fail(w, jsonError, http.StatusMethodNotAllowed, "method not allowed: use GET")
	}
	cl, code := h.authorize(w, r, st)
	if code != 0 {
		return code
	}
	profile, ok := h.scoped(w, r, st, &cl, "/v1/credentials")
	if !ok {
		return st.code
	}
	c, code := h.current(w, r, profile, st, jsonError)
	if code != http.StatusOK {
		return code
	}
	e, err := h.docFor(st.profile, c, docContainer)
	if err != nil {
		return fail(w, jsonError, http.StatusInternalServerError, "encoding response failed")
	}
	return writeEncoded(w, *e)
}

// authorize finds the client of the request's token; it answers 401 for
// none, and 403 for a client this listener does not accept. A zero code:
// go on.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, st *status) (Client, int) {
	cl, ok := h.client(r.Header.Get("Authorization"))
	if !ok {
		st.reason, st.msg = "client-token", "missing or wrong Authorization token"
		h.logRefusal(r, st.reason, st.msg)
		return cl, fail(w, jsonError, http.StatusUnauthorized, "missing or wrong Authorization token: run `credd env` to point the SDK at credd")
	}
	st.client = cl.Name
	if st.attr.Client != "" && cl.Name != st.attr.Client {
		h.refused(w, r, st, "listener-client", "this listener accepts only the token of client "+strconv.Quote(st.attr.Client)+" (`credd client token "+st.attr.Client+"`), not "+strconv.Quote(cl.Name)+"'s")
		return cl, st.code
	}
	return cl, 0
}

// writeBody sets every header before the body.
func writeBody(w http.ResponseWriter, code int, contentType string, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	body, err := json.Marshal(v)
	if err != nil {
		return fail(w, plainError, http.StatusInternalServerError, "encoding response failed")
	}
	writeBody(w, code, "application/json", body)
	return code
}
