package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// Kind is the kind of an MFA session in the session store.
const Kind = "mfa"

// MinLeft is how long an MFA session must still last to be used: roles
// assumed from it, and the session's own credentials, are not started
// from one about to end.
const MinLeft = 5 * time.Minute

// Store is where MFA sessions persist (package store's Store).
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// Options configure a Session.
type Options struct {
	Store  Store        // nil: kept in memory only
	Clock  clock.Clock  // nil: real time
	Logger *slog.Logger // nil: discard
	// OnChange, if set, runs after the session started, ended or was
	// refused (never with a lock held).
	OnChange func(*Session)
}

// Session is one MFA session: the credentials sts:GetSessionToken gave for
// one IAM user's long-term keys (by their access key ID, never their
// secret) and one MFA device. Every profile resting on those keys and that
// device shares it, so one code serves them all until it ends. It is kept
// in the session store, so a restart needs no new code.
//
// A Session never asks STS twice with one code, and never asks without
// one: Start is the only call it makes.
type Session struct {
	name, keyID, serial string
	o                   Options
	clock               clock.Clock
	sem                 chan struct{} // one Start at a time

	mu      sync.Mutex
	cur     *stored // nil: none
	loaded  bool    // the store was read
	refused error   // STS refused the last code; nil after a session starts
	used    []string
}

// stored is a session's entry in the store.
type stored struct {
	Kind            string    `json:"kind"`
	ExpiresAt       time.Time `json:"expires_at"`
	KeyID           string    `json:"key_id"`
	Serial          string    `json:"serial"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
}

func (s *stored) creds() cred.Credentials {
	return cred.Credentials{
		AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
		Expires: s.ExpiresAt, Kind: cred.KindSessionToken, Source: "mfa-session",
	}
}

// Name is the store key of the MFA session of the keys whose access key ID
// is keyID with the MFA device serial: "mfa/AKIA.../alice-1a2b3c4d" (the
// device's name, cut to fit, and a digest of its whole serial).
func Name(keyID, serial string) string {
	short := serial
	if i := strings.LastIndexAny(short, "/:"); i >= 0 {
		short = short[i+1:]
	}
	var b strings.Builder
	for _, r := range short {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.@+-", r)) {
			b.WriteRune(r)
		}
		if b.Len() == 24 {
			break
		}
	}
	sum := sha256.Sum256([]byte(serial))
	dev := strings.TrimLeft(b.String(), "_.@+-")
	if dev != "" {
		dev += "-"
	}
	id := keyID
	if len(id) > 32 || strings.ContainsFunc(id, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
		k := sha256.Sum256([]byte(keyID))
		id = "K" + hex.EncodeToString(k[:8])
	}
	return Kind + "/" + id + "/" + dev + hex.EncodeToString(sum[:4])
}

// NewSession returns the MFA session of keyID and serial. Nothing is read
// or called until it is used.
func NewSession(keyID, serial string, o Options) *Session {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Session{name: Name(keyID, serial), keyID: keyID, serial: serial, o: o, clock: clock.Or(o.Clock), sem: make(chan struct{}, 1)}
}

// Name is the session's store key.
func (s *Session) Name() string { return s.name }

// Serial is the MFA device's serial number (or ARN).
func (s *Session) Serial() string { return s.serial }

// load reads the store once. Caller holds s.mu.
func (s *Session) load(ctx context.Context) {
	if s.loaded || s.o.Store == nil {
		s.loaded = true
		return
	}
	s.loaded = true
	raw, err := s.o.Store.Get(ctx, s.name)
	if err != nil {
		return // none stored (or unreadable: the store reports it at start)
	}
	var st stored
	if err := json.Unmarshal(raw, &st); err != nil || st.Kind != Kind || st.KeyID != s.keyID || st.Serial != s.serial || st.AccessKeyID == "" {
		s.o.Logger.Warn("stored MFA session ignored: not this session's", "session", s.name)
		return
	}
	s.cur = &st
}

// Credentials returns the session's credentials while they last at least
// MinLeft, from memory or, the first time, the store.
func (s *Session) Credentials(ctx context.Context) (cred.Credentials, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load(ctx)
	if s.cur == nil {
		return cred.Credentials{}, false
	}
	c := s.cur.creds()
	return c, c.ValidAt(s.clock.Now(), MinLeft)
}

// Expiry is when the session ends; zero when there is none.
func (s *Session) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return time.Time{}
	}
	return s.cur.ExpiresAt
}

// Refused is STS's refusal of the last code tried, until a session
// starts: a command that printed it (mfa_process) is not run again on its
// own.
func (s *Session) Refused() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// CodeFunc supplies a code when one is needed: typed, or printed by an
// mfa_process command.
type CodeFunc func(ctx context.Context) (string, error)

// Start makes a new MFA session: GetSessionToken with client (signed with
// the long-term keys), the device's serial and a code from code, for d.
// With ifNone, a session that is still valid is kept and no code is
// asked for (two profiles needing the session at once get one call). One
// Start runs at a time. A code is sent to STS once: one sent before is
// refused here. A refused code is remembered (Refused) and the session
// stays as it was.
func (s *Session) Start(ctx context.Context, client SessionTokenGetter, code CodeFunc, d time.Duration, ifNone bool) (cred.Credentials, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return cred.Credentials{}, ctx.Err()
	}
	defer func() { <-s.sem }()
	if ifNone {
		if c, ok := s.Credentials(ctx); ok {
			return c, nil
		}
	}
	tc, err := code(ctx)
	if err != nil {
		return cred.Credentials{}, err
	}
	if err := CheckCode(tc); err != nil {
		return cred.Credentials{}, err
	}
	s.mu.Lock()
	for _, u := range s.used {
		if u == tc {
			s.mu.Unlock()
			return cred.Credentials{}, cred.Errorf(cred.ErrMFARequired, "%w for %s: this code was sent to STS already (a code is accepted once): wait for the next one", ErrCodeRefused, s.serial)
		}
	}
	s.used = append(s.used, tc)
	if len(s.used) > 8 {
		s.used = s.used[1:]
	}
	s.mu.Unlock()
	c, err := GetSessionToken(ctx, client, s.serial, tc, d)
	if err != nil {
		if errors.Is(err, ErrCodeRefused) {
			s.mu.Lock()
			s.refused = err
			s.mu.Unlock()
			s.o.Logger.Warn("STS refused the MFA code", "session", s.name, "serial", s.serial)
			s.changed()
		}
		return cred.Credentials{}, err
	}
	st := &stored{Kind: Kind, ExpiresAt: c.Expires.UTC(), KeyID: s.keyID, Serial: s.serial,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	s.mu.Lock()
	s.cur, s.loaded, s.refused = st, true, nil
	s.mu.Unlock()
	if s.o.Store != nil {
		if raw, err := json.Marshal(st); err != nil {
			s.o.Logger.Warn("MFA session not stored", "session", s.name, "error", err)
		} else if err := s.o.Store.Put(ctx, s.name, raw); err != nil {
			// Still served from memory; a restart will ask for a code.
			s.o.Logger.Warn("MFA session not stored: a restart will need a new code", "session", s.name, "error", err)
		}
	}
	s.o.Logger.Info("MFA session started", "session", s.name, "serial", s.serial, "ends", st.ExpiresAt.Format(time.RFC3339))
	s.changed()
	return st.creds(), nil
}

// Forget ends the session in memory and in the store.
func (s *Session) Forget(ctx context.Context) error {
	s.mu.Lock()
	s.cur, s.loaded, s.refused = nil, true, nil
	s.mu.Unlock()
	var err error
	if s.o.Store != nil {
		err = s.o.Store.Delete(ctx, s.name)
	}
	s.changed()
	return err
}

func (s *Session) changed() {
	if s.o.OnChange != nil {
		s.o.OnChange(s)
	}
}

// String names the session, never its credentials.
func (s *Session) String() string {
	return fmt.Sprintf("mfa-session{%s serial=%s}", s.name, s.serial)
}
