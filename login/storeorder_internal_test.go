package login

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"
)

// gateStore holds the first Put until released, so a later write can
// overtake it.
type gateStore struct {
	mu      sync.Mutex
	data    map[string][]byte
	first   bool
	entered chan struct{}
	release chan struct{}
}

func (g *gateStore) Get(_ context.Context, k string) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.data[k], nil
}

func (g *gateStore) Put(_ context.Context, k string, v []byte) error {
	g.mu.Lock()
	first := !g.first
	g.first = true
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.data[k] = v
	return nil
}

func (g *gateStore) Delete(_ context.Context, k string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.data, k)
	return nil
}

type kindOnly struct{ Method }

func (kindOnly) Kind() string { return "oidc" }

// TestStoreKeepsTheNewestTokens: an older write that finishes last must not
// replace newer tokens in the store.
func TestStoreKeepsTheNewestTokens(t *testing.T) {
	g := &gateStore{data: map[string][]byte{}, entered: make(chan struct{}), release: make(chan struct{})}
	s := New(t.Context(), "oidc/x", kindOnly{}, Options{Store: g})
	exp := time.Now().Add(time.Hour)
	done := make(chan struct{})
	go func() {
		s.set(t.Context(), Tokens{IDToken: "old", Expiry: exp})
		close(done)
	}()
	<-g.entered // the old write is under way
	newer := make(chan struct{})
	go func() {
		s.set(t.Context(), Tokens{IDToken: "new", Expiry: exp})
		close(newer)
	}()
	// Wait until the newer tokens are in memory (their write is now queued
	// behind the old one).
	for {
		s.mu.Lock()
		v := s.version
		s.mu.Unlock()
		if v == 2 {
			break
		}
		runtime.Gosched()
	}
	close(g.release)
	<-done
	<-newer
	var st stored
	if err := json.Unmarshal(g.data["oidc/x"], &st); err != nil {
		t.Fatal(err)
	}
	if st.Tokens.IDToken != "new" {
		t.Errorf("store holds %q, want the newest tokens", st.Tokens.IDToken)
	}
}
