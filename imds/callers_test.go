package imds

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorded collects the handler's audit events.
type recorded struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorded) add(_ *http.Request, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorded) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

var opsCreds = devCreds

const ciToken = "ci-token-0123456789abcdef0123456789abcdef"

// TestRefusedUserGetsForbiddenEverywhereButHealthz: a connection the
// daemon refuses (another user) gets 403 with the reason on every
// endpoint, even with the right token, and /healthz still answers.
func TestRefusedUserGetsForbiddenEverywhereButHealthz(t *testing.T) {
	var rec recorded
	h, _ := newTestHandler(t, func(o *Options) {
		o.Attribute = func(*http.Request) Attribution {
			return Attribution{Refusal: "user 1001 may not use credd: add it to allow_users", Reason: "user"}
		}
		o.Audit = rec.add
		o.MetricsHandler = http.NotFoundHandler()
	})
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		endpoint           string
	}{
		{"imds token", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60"}, EndpointIMDS},
		{"imds credentials", "GET", "/latest/meta-data/iam/security-credentials/dev", nil, EndpointIMDS},
		{"container with the token", "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}, EndpointContainer},
		{"console with the token", "POST", "/v1/console/dev", map[string]string{"Authorization": clientToken}, EndpointConsole},
		{"metrics", "GET", "/metrics", nil, EndpointOps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, tc.method, tc.path, tc.hdr)
			if w.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", w.Code)
			}
			var body struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != "Forbidden" || !strings.Contains(body.Message, "allow_users") {
				t.Errorf("body %s (%v), want the JSON error naming allow_users", w.Body, err)
			}
			ev := rec.take()
			if len(ev) != 1 || ev[0].Endpoint != tc.endpoint || ev[0].Status != 403 || ev[0].Reason != "user" {
				t.Errorf("audit events %+v, want one refusal of %s", ev, tc.endpoint)
			}
		})
	}
	if w := do(h, "GET", "/healthz", nil); w.Code != http.StatusOK {
		t.Errorf("/healthz: %d", w.Code)
	}
	if ev := rec.take(); len(ev) != 0 {
		t.Errorf("/healthz audited: %+v", ev)
	}
}

// TestScopedClients: a scoped client's token serves its profiles only; the
// owner token serves every profile; a revoked token is refused; a listener
// bound to a client accepts no other token, not even the owner's; a
// listener's profile is the only one IMDS serves there.
func TestScopedClients(t *testing.T) {
	var rec recorded
	var attr Attribution
	h, _ := newTestHandler(t, func(o *Options) {
		o.Provider = staticProvider{"dev": devCreds, "ops": opsCreds}
		o.Attribute = func(*http.Request) Attribution { return attr }
		o.Audit = rec.add
		o.Console = &fakeConsole{}
	})
	h.SetClients([]Client{{Name: "ci", Token: []byte(ciToken), Profiles: []string{"dev"}}})
	get := func(path, tok string) (int, string) {
		w := do(h, "GET", path, map[string]string{"Authorization": tok})
		return w.Code, w.Body.String()
	}
	for _, tc := range []struct {
		name      string
		attr      Attribution
		path, tok string
		code      int
		client    string
		inBody    string
	}{
		{"client, its profile", Attribution{}, "/v1/credentials/dev", ciToken, 200, "ci", "AccessKeyId"},
		{"client, its profile by default", Attribution{}, "/v1/credentials", ciToken, 200, "ci", "AccessKeyId"},
		{"client, another profile", Attribution{}, "/v1/credentials/ops", ciToken, 403, "ci", `client \"ci\" may not take profile \"ops\"`},
		{"owner, any profile", Attribution{}, "/v1/credentials/ops", clientToken, 200, "default", "AccessKeyId"},
		{"wrong token", Attribution{}, "/v1/credentials/dev", "nope", 401, "", "Authorization"},
		{"listener bound to ci, owner token", Attribution{Client: "ci"}, "/v1/credentials/dev", clientToken, 403, "default", `accepts only the token of client \"ci\"`},
		{"listener bound to ci, ci token", Attribution{Client: "ci"}, "/v1/credentials/dev", ciToken, 200, "ci", "AccessKeyId"},
		{"listener scoped to ops", Attribution{Profile: "ops", Scope: []string{"ops"}}, "/v1/credentials/dev", clientToken, 403, "default", "serves only profile ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attr = tc.attr
			code, body := get(tc.path, tc.tok)
			if code != tc.code || !strings.Contains(body, tc.inBody) {
				t.Fatalf("%d %s, want %d with %q", code, body, tc.code, tc.inBody)
			}
			ev := rec.take()
			if len(ev) != 1 || ev[0].Status != tc.code || ev[0].Client != tc.client {
				t.Errorf("audit %+v, want one event with status %d and client %q", ev, tc.code, tc.client)
			}
		})
	}
	// Console links: the client's profiles only; the owner's token, any
	// (the fake console knows dev only: the owner's ops gets as far as
	// the console, which says 404).
	attr = Attribution{}
	for _, tc := range []struct {
		name, profile, tok string
		code               int
	}{
		{"client, console of its profile", "dev", ciToken, 200},
		{"client, console of another profile", "ops", ciToken, 403},
		{"owner, console of any profile", "ops", clientToken, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, "POST", "/v1/console/"+tc.profile, map[string]string{"Authorization": tc.tok})
			if w.Code != tc.code || tc.code == 403 && !strings.Contains(w.Body.String(), `client \"ci\" may not take profile \"ops\"`) {
				t.Errorf("%d %s, want %d", w.Code, w.Body, tc.code)
			}
			rec.take()
		})
	}
	// IMDS on a listener scoped to ops lists ops and serves nothing else.
	attr = Attribution{Profile: "ops", Scope: []string{"ops"}}
	tok := token(t, h)
	if w := do(h, "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{tokenHeader: tok}); w.Body.String() != "ops" {
		t.Errorf("listed %q, want ops", w.Body)
	}
	if w := do(h, "GET", "/latest/meta-data/iam/security-credentials/dev", map[string]string{tokenHeader: tok}); w.Code != 403 {
		t.Errorf("IMDS outside the listener's scope: %d, want 403", w.Code)
	}
	if w := do(h, "GET", "/latest/meta-data/iam/security-credentials/ops", map[string]string{tokenHeader: tok}); w.Code != 200 {
		t.Errorf("IMDS inside the listener's scope: %d", w.Code)
	}
	// Revoked: the old token is refused at once.
	attr = Attribution{}
	h.SetClients([]Client{{Name: "ci", Token: []byte(ciToken + "new"), Profiles: []string{"dev"}}})
	if code, _ := get("/v1/credentials/dev", ciToken); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _ := get("/v1/credentials/dev", ciToken+"new"); code != 200 {
		t.Errorf("new token: %d, want 200", code)
	}
}

// TestRefusedIsToldTheLoggedRefusals: Options.Refused, by which the
// daemon logs refusals (folded), hears of every 403 and of a wrong
// container token, each with its reason, what the client was told and the
// request; not of a missing IMDSv2 token (SDKs probe without one), nor of
// other errors or answers.
func TestRefusedIsToldTheLoggedRefusals(t *testing.T) {
	type told struct{ reason, msg, path string }
	var got []told
	var attr Attribution
	h, _ := newTestHandler(t, func(o *Options) {
		o.Provider = staticProvider{"dev": devCreds, "ops": opsCreds}
		o.Attribute = func(*http.Request) Attribution { return attr }
		o.Refused = func(r *http.Request, reason, msg string) {
			got = append(got, told{reason, msg, r.URL.Path})
		}
	})
	tok := token(t, h)
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		attr               Attribution
		code               int
		reason             string // "": Refused is not told
	}{
		{"web page", "GET", "/latest/meta-data/iam/security-credentials/dev", map[string]string{"Origin": "https://evil.example", tokenHeader: tok}, Attribution{}, 403, "browser"},
		{"rebinding host", "GET", "/v1/credentials/dev", map[string]string{"Host": "evil.example", "Authorization": clientToken}, Attribution{}, 403, "browser"},
		{"forwarded token PUT", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Via": "1.1 proxy"}, Attribution{}, 403, "forwarded"},
		{"wrong container token", "GET", "/v1/credentials/dev", map[string]string{"Authorization": "guessed"}, Attribution{}, 401, "client-token"},
		{"refused connection", "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}, Attribution{Refusal: "user 1001 may not use credd", Reason: "user"}, 403, "user"},
		{"container outside the listener's scope", "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}, Attribution{Scope: []string{"ops"}}, 403, "scope"},
		{"IMDS outside the listener's scope", "GET", "/latest/meta-data/iam/security-credentials/dev", map[string]string{tokenHeader: tok}, Attribution{Scope: []string{"ops"}}, 403, "scope"},
		{"another client's listener", "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}, Attribution{Client: "ci"}, 403, "listener-client"},
		{"missing IMDSv2 token", "GET", "/latest/meta-data/iam/security-credentials/dev", nil, Attribution{}, 401, ""},
		{"unknown profile", "GET", "/v1/credentials/nope", map[string]string{"Authorization": clientToken}, Attribution{}, 404, ""},
		{"answer", "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}, Attribution{}, 200, ""},
		{"healthz of a refused connection", "GET", "/healthz", nil, Attribution{Refusal: "user 1001 may not use credd", Reason: "user"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, attr = nil, tc.attr
			w := do(h, tc.method, tc.path, tc.hdr)
			if w.Code != tc.code {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tc.code)
			}
			if tc.reason == "" {
				if len(got) != 0 {
					t.Errorf("Refused told %+v, want nothing", got)
				}
				return
			}
			read := w.Body.String()
			var body struct{ Message string }
			if json.Unmarshal(w.Body.Bytes(), &body) == nil {
				read = body.Message
			}
			if len(got) != 1 || got[0].reason != tc.reason || got[0].path != tc.path || got[0].msg == "" || !strings.Contains(read, got[0].msg) {
				t.Errorf("Refused told %+v, want once %q for %s with what the client read (%s)", got, tc.reason, tc.path, read)
			}
		})
	}
}

// TestClientComparesEveryToken: a presented token is compared with the
// owner's and every client's token whichever matches, or none, each
// comparison by equalSecret (crypto/subtle), so that the time a request
// takes does not tell which token a guess came close to.
func TestClientComparesEveryToken(t *testing.T) {
	owner := []byte("owner-token")
	cs := []Client{
		{Name: "a", Token: []byte("token-a")},
		{Name: "b", Token: []byte("token-b")},
		{Name: "c", Token: []byte("token-c")},
	}
	tests := []struct {
		name, auth, want string
		ok               bool
	}{
		{name: "owner", auth: "owner-token", want: OwnerClient, ok: true},
		{name: "first client", auth: "token-a", want: "a", ok: true},
		{name: "last client", auth: "token-c", want: "c", ok: true},
		{name: "none", auth: "token-x"},
		{name: "empty", auth: ""},
		{name: "prefix of a token", auth: "token-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			compared := 0
			counting := func(got string, want []byte) bool {
				compared++
				return equalSecret(got, want)
			}
			c, ok := matchClient(tc.auth, owner, cs, counting)
			if ok != tc.ok || c.Name != tc.want {
				t.Errorf("matchClient(%q) = %q, %v; want %q, %v", tc.auth, c.Name, ok, tc.want, tc.ok)
			}
			if want := 1 + len(cs); compared != want {
				t.Errorf("compared %d tokens, want every one (%d)", compared, want)
			}
		})
	}
}

// TestEqualSecret: equal only for the same non-empty bytes; an empty
// expected token (none configured) matches nothing, not even "".
func TestEqualSecret(t *testing.T) {
	tests := []struct {
		name, got, want string
		equal           bool
	}{
		{"same", "abc", "abc", true},
		{"different", "abd", "abc", false},
		{"longer", "abcd", "abc", false},
		{"shorter", "ab", "abc", false},
		{"none configured", "", "", false},
		{"empty presented", "", "abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := equalSecret(tc.got, []byte(tc.want)); got != tc.equal {
				t.Errorf("equalSecret(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.equal)
			}
		})
	}
}
