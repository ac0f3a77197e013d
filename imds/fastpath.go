package imds

// The fast path of a credentials request, measured in bench_test.go and
// docs/benchmarks.md: documents encoded once per credentials value and
// cached, headers set without allocating, and a wait context whose timer
// is armed only when the provider has to wait.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credd/credd/cred"
)

// credsKey is everything of a Credentials value the documents show, at
// their resolution (whole seconds).
type credsKey struct {
	accessKeyID, secretAccessKey, sessionToken, accountID, roleARN string
	expires, issued                                                int64
}

func keyOf(c cred.Credentials) credsKey {
	return credsKey{
		accessKeyID:     c.AccessKeyID,
		secretAccessKey: c.SecretAccessKey,
		sessionToken:    c.SessionToken,
		accountID:       c.AccountID,
		roleARN:         c.RoleARN,
		expires:         c.Expires.Unix(),
		issued:          c.Issued.Unix(),
	}
}

// encodedDocs are the credentials documents of one Credentials value, each
// encoded once, when first asked for. Encoding the session token dominated
// the cost of a request, and a profile's credentials change only when its
// refresher renews them. A profile served on one endpoint only (the usual
// case) keeps one document, not three.
type encodedDocs struct {
	key credsKey
	c   cred.Credentials
	doc [docKinds]atomic.Pointer[encoded]
}

// The documents of a credentials value.
const (
	docIMDS         = iota // the IMDS credentials document
	docIMDSExtended        // the same with AccountId
	docContainer           // the container endpoint's
	docKinds
)

// encoded is a JSON response body with its Content-Length header value.
//
// The body is head, token, tail. The session token, most of a document
// (800 characters or more), is not copied into each cached document but
// shared with the credentials the provider holds anyway: at 5,000
// profiles in use that copy was 4 MB of the heap. A token JSON would
// escape (never one from STS) stays in head, whole.
type encoded struct {
	head, tail []byte
	token      string
	length     []string
}

// docFor returns the encoded document of c of the given kind, served for
// profile, from the cache when c is what the profile served last. The
// cache holds one entry per profile the provider served (the provider
// refuses unknown ones), replaced when the credentials change.
func (h *Handler) docFor(profile string, c cred.Credentials, kind int) (*encoded, error) {
	k := keyOf(c)
	var d *encodedDocs
	if v, ok := h.docs.Load(profile); ok && v.(*encodedDocs).key == k {
		d = v.(*encodedDocs)
		if e := d.doc[kind].Load(); e != nil {
			return e, nil
		}
	} else {
		d = &encodedDocs{key: k, c: c}
		h.docs.Store(strings.Clone(profile), d)
	}
	// Two requests may both encode the same document: the same bytes.
	e, err := encodeDoc(d.c, kind)
	if err != nil {
		return nil, err
	}
	d.doc[kind].Store(&e)
	return &e, nil
}

func encodeDoc(c cred.Credentials, kind int) (encoded, error) {
	expires := c.Expires.UTC().Format(imdsTimeFormat)
	if kind == docContainer {
		return encode(c.SessionToken, containerDoc{
			AccessKeyID:     c.AccessKeyID,
			SecretAccessKey: c.SecretAccessKey,
			Token:           c.SessionToken,
			Expiration:      expires,
			AccountID:       c.AccountID,
			RoleARN:         c.RoleARN,
		})
	}
	doc := imdsDoc{
		Code:            "Success",
		LastUpdated:     c.Issued.UTC().Format(imdsTimeFormat),
		Type:            "AWS-HMAC",
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      expires,
	}
	if kind == docIMDSExtended {
		doc.AccountID = c.AccountID
	}
	return encode(c.SessionToken, doc)
}

// encode encodes v, a document showing token, as encoded.
func encode(token string, v any) (encoded, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return encoded{}, err
	}
	e := encoded{head: body, length: []string{strconv.Itoa(len(body))}}
	if token == "" {
		return e, nil
	}
	quoted, err := json.Marshal(token)
	if err != nil || string(quoted[1:len(quoted)-1]) != token {
		return e, nil // escaped: kept whole
	}
	i := bytes.Index(body, quoted)
	if i < 0 || bytes.Contains(body[i+len(quoted):], quoted) {
		return e, nil
	}
	e.head = bytes.Clone(body[:i+1])
	e.token = token
	e.tail = bytes.Clone(body[i+1+len(token):])
	return e, nil
}

// body is the whole document (tests).
func (e encoded) body() []byte {
	return append(append(append([]byte(nil), e.head...), e.token...), e.tail...)
}

// Header values shared by every response that sets them. net/http and
// httptest copy header values before writing them, and a handler's Set or
// Add replaces or reallocates a slice (capacity 1) rather than writing
// into it.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// writeEncoded writes a 200 with a cached JSON body and the same headers
// writeBody sets, without allocating.
func writeEncoded(w http.ResponseWriter, e encoded) int {
	hd := w.Header()
	hd["Content-Type"] = hdrJSON
	hd["Content-Length"] = e.length
	hd["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.head)
	if e.token != "" {
		_, _ = io.WriteString(w, e.token) // net/http's writer copies it without allocating
		_, _ = w.Write(e.tail)
	}
	return http.StatusOK
}

// waitContext is the request's context bounded by the handler's Wait, as
// context.WithTimeout(r.Context(), Wait) would make it, except that its
// timer is armed only when the provider first asks for Done, Err or Value.
// A provider answering from its cache asks for none, and arming a timer
// (and registering with the parent for cancellation) on every request cost
// as much as the rest of the handler. Once released, it behaves as the
// cancelled context it would have been.
type waitContext struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	ctx      context.Context // nil until armed
	cancel   context.CancelFunc
	released bool
}

var _ context.Context = (*waitContext)(nil)

// armed returns the real context, making it on first use.
func (c *waitContext) armed() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		if c.released {
			// Used after the request: it would have been cancelled.
			c.ctx, c.cancel = context.WithCancel(c.parent)
			c.cancel()
		} else {
			c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
	}
	return c.ctx
}

// release ends the context, as the deferred cancel of WithTimeout would.
func (c *waitContext) release() {
	c.mu.Lock()
	c.released = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Deadline is the earlier of the parent's deadline and the wait's, as for
// WithDeadline; it needs no timer.
func (c *waitContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *waitContext) Done() <-chan struct{} { return c.armed().Done() }
func (c *waitContext) Err() error            { return c.armed().Err() }
func (c *waitContext) Value(key any) any     { return c.armed().Value(key) }
