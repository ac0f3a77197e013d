package imds

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Attribution is what the daemon decided about a request's connection
// (who is on the other end, through which listener); the handler enforces
// it. The zero value serves everything, as for a request that did not come
// through credd's server.
type Attribution struct {
	// Refusal, if set, is why every endpoint but /healthz answers 403.
	Refusal string
	// Reason is a short code for Refusal ("user", "unknown-peer", ...),
	// by which refusals are folded in the logs.
	Reason string
	// Profile is what IMDS lists and /v1/credentials serves on this
	// listener; "" is the default profile.
	Profile string
	// Scope, if not nil, are the only profiles served on this listener.
	Scope []string
	// Client, if set, is the only client whose token the container and
	// console endpoints accept on this listener.
	Client string
}

// Event is one credentials answer or refusal, for the audit log.
type Event struct {
	Endpoint string // EndpointIMDS, EndpointContainer, EndpointConsole, EndpointOps
	Profile  string
	Status   int
	Client   string // the token's client, for the container and console endpoints
	Reason   string // refusals: a short code, as Attribution.Reason
	Message  string // refusals: what the client was told
}

// Refused reports whether the event is a refusal (401 or 403).
func (e Event) Refused() bool {
	return e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized
}

// Client is a holder of a container-endpoint token.
type Client struct {
	Name  string
	Token []byte
	// Profiles, if not nil, are the only profiles the token serves.
	Profiles []string
}

// OwnerClient names the owner token (Options.ClientToken).
const OwnerClient = "default"

// SetClients replaces the scoped clients' tokens (at start, on reload and
// when a token is revoked); the old tokens are refused from then on.
func (h *Handler) SetClients(cs []Client) {
	h.clients.Store(&cs)
}

// client returns the client whose token auth is, comparing with every
// token in constant time, and false when none matches.
func (h *Handler) client(auth string) (Client, bool) {
	var cs []Client
	if p := h.clients.Load(); p != nil {
		cs = *p
	}
	return matchClient(auth, h.o.ClientToken(), cs, equalSecret)
}

// matchClient compares auth with the owner's token and then with every
// client's, each with equal, and goes on comparing after a match: how
// long a request takes says nothing of which token, if any, it matched.
// The first match wins (the owner's before the clients').
func matchClient(auth string, owner []byte, cs []Client, equal func(string, []byte) bool) (Client, bool) {
	var found Client
	ok := false
	if equal(auth, owner) {
		found, ok = Client{Name: OwnerClient}, true
	}
	for _, c := range cs {
		if equal(auth, c.Token) && !ok {
			found, ok = c, true
		}
	}
	return found, ok
}

// allowed says why profile is not served to c on a listener with
// attribution a, or "".
func allowed(a Attribution, c *Client, profile string) string {
	if a.Scope != nil && !slices.Contains(a.Scope, profile) {
		return "this listener serves only profile " + strings.Join(a.Scope, ", ") + ", not " + strconv.Quote(profile)
	}
	if c != nil && c.Profiles != nil && !slices.Contains(c.Profiles, profile) {
		return "client " + strconv.Quote(c.Name) + " may not take profile " + strconv.Quote(profile) +
			" (its profiles: " + strings.Join(c.Profiles, ", ") + "; add it under clients." + c.Name + ".profiles in the config)"
	}
	return ""
}

// scoped is the profile a container or console request names after
// prefix (the listener's, see status.listed, if none). A profile the
// listener or the client cl may not take is refused (403): false, and
// st.code is the answer.
func (h *Handler) scoped(w http.ResponseWriter, r *http.Request, st *status, cl *Client, prefix string) (string, bool) {
	profile := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if profile == "" {
		profile = st.listed()
	}
	if msg := allowed(st.attr, cl, profile); msg != "" {
		st.profile = profile
		h.refused(w, r, st, "scope", msg)
		return "", false
	}
	st.creds = true
	return profile, true
}

// endpointOf names the endpoint a path belongs to, for refusals met before
// routing.
func endpointOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/latest/"):
		return EndpointIMDS
	case path == "/v1/credentials" || strings.HasPrefix(path, "/v1/credentials/"):
		return EndpointContainer
	case path == "/v1/console" || strings.HasPrefix(path, "/v1/console/"):
		return EndpointConsole
	}
	return EndpointOps
}

// Redact replaces every client token (the owner's and the scoped ones) in
// s: a command line may carry one (curl -H "Authorization: ...").
func (h *Handler) Redact(s string) string {
	toks := [][]byte{h.o.ClientToken()}
	if cs := h.clients.Load(); cs != nil {
		for _, c := range *cs {
			toks = append(toks, c.Token)
		}
	}
	for _, t := range toks {
		if len(t) > 0 {
			s = strings.ReplaceAll(s, string(t), "<redacted>")
		}
	}
	return s
}
