// Package imds serves credentials over the protocols AWS SDKs already speak:
// the EC2 instance metadata service (IMDSv2) and the ECS container
// credentials endpoint. It answers from a Provider (the refreshers) and
// never calls upstream itself; every request passes a guard against
// browsers and DNS rebinding first.
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
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// Provider hands out a profile's current credentials.
type Provider interface {
	Current(ctx context.Context, profile string) (cred.Credentials, error)
}

// ErrUnknownProfile is what a Provider returns for a profile it does not
// serve; the handler answers 404.
var ErrUnknownProfile = errors.New("unknown profile")

// Metrics observes served requests. Labels: endpoint, profile, HTTP status.
type Metrics interface {
	ObserveRequest(endpoint, profile string, status int, d time.Duration)
}

// Options configure a Handler.
type Options struct {
	Provider       Provider
	DefaultProfile string
	Region         string // for placement and the identity document
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
}

// Handler serves the IMDS, container and operations endpoints.
type Handler struct {
	o      Options
	clock  clock.Clock
	log    *slog.Logger
	tokens *tokens
	hosts  map[string]bool
}

// Endpoint names used in metrics.
const (
	EndpointToken     = "imds-token"
	EndpointIMDS      = "imds"
	EndpointContainer = "container"
	EndpointOps       = "ops"
	EndpointRefused   = "refused"
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
		hosts:  map[string]bool{},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, host := range o.Hosts {
		if hn, _, err := net.SplitHostPort(host); err == nil {
			host = hn
		}
		h.hosts[strings.ToLower(strings.Trim(host, "[]"))] = true
	}
	return h
}

// status records what a handler answered, for metrics.
type status struct {
	endpoint, profile string
	code              int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := status{endpoint: EndpointRefused}
	h.serve(w, r, &st)
	if h.o.Metrics != nil {
		h.o.Metrics.ObserveRequest(st.endpoint, st.profile, st.code, time.Since(start))
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, st *status) {
	if msg := h.refuse(r); msg != "" {
		h.log.Warn("refused request", "reason", msg, "remote", r.RemoteAddr, "path", r.URL.Path)
		st.code = http.StatusForbidden
		plainError(w, st.code, msg)
		return
	}
	p := r.URL.Path
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
		plainError(w, st.code, "not found")
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
	return h.hosts[strings.ToLower(host)]
}

func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		return plainError(w, http.StatusMethodNotAllowed, "method not allowed: use PUT")
	}
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		return plainError(w, http.StatusForbidden, "forwarded requests are refused")
	}
	raw := r.Header.Get(ttlHeader)
	ttl, err := strconv.Atoi(raw)
	if err != nil || ttl < 1 || ttl > MaxTokenTTL {
		return plainError(w, http.StatusBadRequest, ttlHeader+" must be a number of seconds from 1 to 21600")
	}
	now := h.clock.Now()
	tok := h.tokens.issue(now, now.Add(time.Duration(ttl)*time.Second))
	w.Header().Set(ttlHeader, strconv.Itoa(ttl))
	writeBody(w, http.StatusOK, "text/plain", []byte(tok))
	return http.StatusOK
}

func (h *Handler) serveIMDS(w http.ResponseWriter, r *http.Request, st *status) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return plainError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	if !h.o.AllowV1 && !h.tokens.valid(r.Header.Get(tokenHeader), h.clock.Now()) {
		return plainError(w, http.StatusUnauthorized, "missing or expired IMDSv2 session token: PUT /latest/api/token first")
	}
	p := strings.TrimPrefix(r.URL.Path, "/latest/")
	switch {
	case p == "meta-data/iam/security-credentials/" || p == "meta-data/iam/security-credentials" ||
		p == "meta-data/iam/security-credentials-extended/" || p == "meta-data/iam/security-credentials-extended":
		st.profile = h.o.DefaultProfile
		if h.o.DefaultProfile == "" {
			return plainError(w, http.StatusNotFound, "no default profile is configured")
		}
		writeBody(w, http.StatusOK, "text/plain", []byte(h.o.DefaultProfile))
		return http.StatusOK
	case strings.HasPrefix(p, "meta-data/iam/security-credentials/"):
		return h.serveIMDSCreds(w, r, strings.TrimPrefix(p, "meta-data/iam/security-credentials/"), false, st)
	case strings.HasPrefix(p, "meta-data/iam/security-credentials-extended/"):
		return h.serveIMDSCreds(w, r, strings.TrimPrefix(p, "meta-data/iam/security-credentials-extended/"), true, st)
	case p == "meta-data/iam/info":
		return h.serveInfo(w, r, st)
	case p == "meta-data/placement/region":
		return h.serveRegion(w, "")
	case p == "meta-data/placement/availability-zone":
		return h.serveRegion(w, "a")
	case p == "dynamic/instance-identity/document":
		return h.serveIdentity(w, r, st)
	}
	return plainError(w, http.StatusNotFound, "not found")
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

func (h *Handler) serveIMDSCreds(w http.ResponseWriter, r *http.Request, profile string, extended bool, st *status) int {
	profile = strings.TrimSuffix(profile, "/")
	c, code := h.current(w, r, profile, st, plainError)
	if code != http.StatusOK {
		return code
	}
	doc := imdsDoc{
		Code:            "Success",
		LastUpdated:     c.Issued.UTC().Format(imdsTimeFormat),
		Type:            "AWS-HMAC",
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expires.UTC().Format(imdsTimeFormat),
	}
	if extended {
		doc.AccountID = c.AccountID
	}
	return writeJSON(w, http.StatusOK, doc)
}

// current asks the provider, bounded by the handler's wait, and writes the
// error response itself when there is nothing to serve.
func (h *Handler) current(w http.ResponseWriter, r *http.Request, profile string, st *status, fail func(http.ResponseWriter, int, string) int) (cred.Credentials, int) {
	if profile == "" {
		profile = h.o.DefaultProfile
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Wait)
	defer cancel()
	c, err := h.o.Provider.Current(ctx, profile)
	switch {
	case err == nil:
		st.profile = profile
		return c, http.StatusOK
	case errors.Is(err, ErrUnknownProfile):
		return c, fail(w, http.StatusNotFound, "unknown profile "+strconv.Quote(profile))
	default:
		st.profile = profile
		h.log.Warn("credentials not available", "profile", profile, "error", err)
		return c, fail(w, http.StatusServiceUnavailable, err.Error())
	}
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
	return writeJSON(w, http.StatusOK, map[string]string{
		"Code":               "Success",
		"LastUpdated":        c.Issued.UTC().Format(imdsTimeFormat),
		"InstanceProfileArn": "arn:aws:iam::" + acct + ":instance-profile/" + h.o.DefaultProfile,
		"InstanceProfileId":  instanceProfileID(h.o.DefaultProfile),
	})
}

func (h *Handler) serveRegion(w http.ResponseWriter, zone string) int {
	if h.o.Region == "" {
		return plainError(w, http.StatusNotFound, "no region is configured")
	}
	writeBody(w, http.StatusOK, "text/plain", []byte(h.o.Region+zone))
	return http.StatusOK
}

func (h *Handler) serveIdentity(w http.ResponseWriter, r *http.Request, st *status) int {
	c, code := h.current(w, r, "", st, plainError)
	if code != http.StatusOK {
		return code
	}
	return writeJSON(w, http.StatusOK, map[string]string{
		"region":           h.o.Region,
		"availabilityZone": h.o.Region + "a",
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
		return jsonError(w, http.StatusMethodNotAllowed, "method not allowed: use GET")
	}
	if !equalSecret(r.Header.Get("Authorization"), h.o.ClientToken()) {
		return jsonError(w, http.StatusUnauthorized, "missing or wrong Authorization token: run `credd env` to point the SDK at credd")
	}
	profile := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/credentials"), "/")
	c, code := h.current(w, r, profile, st, jsonError)
	if code != http.StatusOK {
		return code
	}
	return writeJSON(w, http.StatusOK, containerDoc{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expires.UTC().Format(imdsTimeFormat),
		AccountID:       c.AccountID,
		RoleARN:         c.RoleARN,
	})
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
		return plainError(w, http.StatusInternalServerError, "encoding response failed")
	}
	writeBody(w, code, "application/json", body)
	return code
}

func plainError(w http.ResponseWriter, code int, msg string) int {
	writeBody(w, code, "text/plain; charset=utf-8", []byte(msg+"\n"))
	return code
}

// jsonError writes the error shape the SDKs' container providers parse.
func jsonError(w http.ResponseWriter, code int, msg string) int {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{errorCode(code), msg})
	writeBody(w, code, "application/json", body)
	return code
}

func errorCode(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowed"
	case http.StatusServiceUnavailable:
		return "CredentialsNotAvailable"
	}
	return "Error"
}
