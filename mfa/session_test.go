package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/store"
)

func code(c string) CodeFunc {
	return func(context.Context) (string, error) { return c, nil }
}

func TestNameIsAValidStoreKeyWithoutSecrets(t *testing.T) {
	for _, tc := range []struct{ name, keyID, serial, want string }{
		{"virtual device", "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::111122223333:mfa/alice", "mfa/AKIAIOSFODNN7EXAMPLE/alice-"},
		{"hardware serial", "AKIAKEYS", "GAHT12345678", "mfa/AKIAKEYS/GAHT12345678-"},
		{"odd characters in the device name", "AKIAKEYS", "arn:aws:iam::111122223333:mfa/ñame,with=odd+stuff_and_a_very_long_tail_indeed", "mfa/AKIAKEYS/amewithodd+stuff_and_a_v-"},
		{"a key ID of another form", "not/a key", "arn:aws:iam::111122223333:mfa/alice", "mfa/K"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Name(tc.keyID, tc.serial)
			if err := store.ValidateKey(got); err != nil {
				t.Fatalf("Name = %q: %v", got, err)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("Name = %q, want prefix %q", got, tc.want)
			}
		})
	}
	if Name("AKIAKEYS", "arn:aws:iam::111122223333:mfa/a") == Name("AKIAKEYS", "arn:aws:iam::444455556666:mfa/a") {
		t.Error("two devices of one name in two accounts share a session name")
	}
}

func TestSessionStartsOnceAndIsKept(t *testing.T) {
	f := ststest.New(t)
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	clk := clock.NewFake(now)
	f.SetClock(clk)
	f.RequireMFA(serial, "123456", "234567")
	st := store.NewMemory()
	changes := 0
	s := NewSession("AKIAKEYS", serial, Options{Store: st, Clock: clk, OnChange: func(*Session) { changes++ }})
	if _, ok := s.Credentials(t.Context()); ok {
		t.Fatal("a new session has credentials")
	}
	c, err := s.Start(t.Context(), keysClient(f.URL), code("123456"), 10*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if !f.MFAContext(c.AccessKeyID) || !c.Expires.Equal(now.Add(10*time.Hour)) || !s.Expiry().Equal(c.Expires) {
		t.Fatalf("credentials %v expiring %s, want an MFA session of 10h", c, c.Expires)
	}
	// Kept in the store, with its device and keys, and read back by a
	// session made afresh (a restart).
	raw, err := st.Get(t.Context(), s.Name())
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Kind      string    `json:"kind"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Kind != "mfa" || !env.ExpiresAt.Equal(c.Expires) {
		t.Errorf("stored %s (%v), want kind mfa and the end", raw, err)
	}
	again := NewSession("AKIAKEYS", serial, Options{Store: st, Clock: clk})
	if got, ok := again.Credentials(t.Context()); !ok || got.AccessKeyID != c.AccessKeyID {
		t.Errorf("after a restart: %v %v, want the stored session", got, ok)
	}
	// Another device, or other keys, is another session.
	if _, ok := NewSession("AKIAOTHER", serial, Options{Store: st, Clock: clk}).Credentials(t.Context()); ok {
		t.Error("other keys got this session")
	}
	// ifNone: a valid session asks for no code.
	asked := false
	if _, err := again.Start(t.Context(), keysClient(f.URL), func(context.Context) (string, error) { asked = true; return "234567", nil }, time.Hour, true); err != nil || asked {
		t.Errorf("Start(ifNone) with a valid session: %v, asked=%v; want no code asked", err, asked)
	}
	// Five minutes before its end it is over.
	clk.Advance(10*time.Hour - MinLeft + time.Second)
	if _, ok := again.Credentials(t.Context()); ok {
		t.Error("a session ending within MinLeft is still served")
	}
	if n := len(f.CallsOf("GetSessionToken")); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", n)
	}
	if err := again.Forget(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(t.Context(), s.Name()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after Forget the store has it: %v", err)
	}
	if changes != 1 {
		t.Errorf("OnChange ran %d times, want once (the start)", changes)
	}
}

func TestSessionNeverSendsACodeTwice(t *testing.T) {
	f := ststest.New(t)
	f.RequireMFA(serial, "123456")
	s := NewSession("AKIAKEYS", serial, Options{})
	_, err := s.Start(t.Context(), keysClient(f.URL), code("999999"), time.Hour, false)
	if !errors.Is(err, ErrCodeRefused) || !errors.Is(err, cred.ErrMFARequired) || !errors.Is(s.Refused(), ErrCodeRefused) {
		t.Fatalf("wrong code: %v (refused %v), want ErrCodeRefused of kind MFA required", err, s.Refused())
	}
	if _, ok := s.Credentials(t.Context()); ok {
		t.Error("a refused code left credentials")
	}
	// The same code again is not sent.
	_, err = s.Start(t.Context(), keysClient(f.URL), code("999999"), time.Hour, false)
	if !errors.Is(err, ErrCodeRefused) || !strings.Contains(err.Error(), "sent to STS already") {
		t.Errorf("the same code again: %v", err)
	}
	// Not a code: nothing sent either.
	if _, err := s.Start(t.Context(), keysClient(f.URL), code("12 456"), time.Hour, false); !errors.Is(err, ErrBadCode) {
		t.Errorf("malformed code: %v", err)
	}
	if n := len(f.CallsOf("GetSessionToken")); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", n)
	}
	// A good code clears the refusal.
	if _, err := s.Start(t.Context(), keysClient(f.URL), code("123456"), time.Hour, false); err != nil || s.Refused() != nil {
		t.Errorf("good code: %v, refused %v", err, s.Refused())
	}
}

func TestGetSessionTokenIsNeverRetried(t *testing.T) {
	f := ststest.New(t)
	f.Fail("Throttling") // the SDK retries this one by default
	_, err := GetSessionToken(t.Context(), keysClient(f.URL), serial, "123456", time.Hour)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(f.Calls()); n != 1 {
		t.Errorf("%d calls, want 1: a retry sends the code again", n)
	}
}

func TestConcurrentStartsAskForOneCode(t *testing.T) {
	f := ststest.New(t)
	f.RequireMFA(serial, "123456", "234567")
	s := NewSession("AKIAKEYS", serial, Options{})
	var mu sync.Mutex
	codes := []string{"123456", "234567"}
	next := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		c := codes[0]
		codes = codes[1:]
		return c, nil
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := s.Start(t.Context(), keysClient(f.URL), next, time.Hour, true); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(f.CallsOf("GetSessionToken")); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", n)
	}
}
