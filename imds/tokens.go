package imds

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// tokens is the table of outstanding IMDSv2 session tokens: bounded in
// count, with expired tokens dropped by the clock.
type tokens struct {
	mu  sync.Mutex
	max int
	m   map[string]time.Time // token -> expiry
}

func newTokens(max int) *tokens {
	return &tokens{max: max, m: make(map[string]time.Time)}
}

// issue makes a token valid until exp. When the table is full it first drops
// expired tokens, then the one that expires soonest.
func (t *tokens) issue(now, exp time.Time) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.max {
		t.pruneLocked(now)
	}
	if len(t.m) >= t.max {
		var victim string
		var soonest time.Time
		for k, e := range t.m {
			if victim == "" || e.Before(soonest) {
				victim, soonest = k, e
			}
		}
		delete(t.m, victim)
	}
	t.m[tok] = exp
	return tok
}

// valid reports whether tok is an outstanding, unexpired token. Tokens are
// 256 random bits looked up by hash, so timing tells nothing about how much
// of a guess was right.
func (t *tokens) valid(tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	t.mu.Lock()
	exp, ok := t.m[tok]
	if ok && !now.Before(exp) {
		delete(t.m, tok)
		ok = false
	}
	t.mu.Unlock()
	return ok
}

func (t *tokens) pruneLocked(now time.Time) {
	for k, e := range t.m {
		if !now.Before(e) {
			delete(t.m, k)
		}
	}
}

func (t *tokens) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// equalSecret compares a presented secret with the expected one in
// constant time.
func equalSecret(got string, want []byte) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare([]byte(got), want) == 1
}
