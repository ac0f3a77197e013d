package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name credd's items carry in the OS keyring.
const KeyringService = "credd"

// MaxKeyringValue is the largest value a Keyring store holds. Sessions are
// a few kilobytes; Secret Service slows down past ~100 KiB.
const MaxKeyringValue = 64 << 10

const (
	// itemMax is the longest string stored in one keyring item. Windows
	// Credential Manager refuses a secret over 2560 bytes; go-keyring on
	// macOS base64-encodes the secret again and refuses a `security`
	// command line over 4096 bytes (2048*4/3 + the account name fits).
	itemMax = 2048
	// maxChunks bounds the chunks of one value (and every cleanup loop):
	// the base64 of MaxKeyringValue bytes is 4*ceil(n/3) long.
	maxChunks = (4*((MaxKeyringValue+2)/3) + itemMax - 1) / itemMax

	indexItem = "__index__" // no escaped key starts with '_'
	probeItem = "__probe__"

	inlinePrefix  = "credd1:"        // + base64 of the value
	chunkedPrefix = "credd1-chunks:" // + gen:count:sha256hex; chunks hold the base64
)

// errCorrupt marks an item that is not in the format Keyring writes.
var errCorrupt = errors.New("damaged keyring entry")

// secrets is the part of an OS keyring that Keyring uses; go-keyring's
// package functions (and, in tests, its mock) implement it.
type secrets interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

type osKeyring struct{}

func (osKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (osKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (osKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// Keyring keeps values in the OS keyring through github.com/zalando/go-keyring:
// the macOS Keychain (via /usr/bin/security), Windows Credential Manager,
// or a Secret Service (GNOME Keyring, KWallet) over D-Bus on Linux. Items
// carry the service name "credd" and the escaped key as account name.
//
// Keyrings limit one item's size (Windows: 2560 bytes; macOS through
// go-keyring: about 3000), so a value whose base64 form exceeds 2048 bytes
// is split into chunk items, written first, and then published by one
// small manifest item that names them and their SHA-256: an interrupted
// Put leaves the previous manifest, and so the previous value, in force.
// Chunks alternate between two generations so a write never overwrites the
// chunks the current manifest names. Values over MaxKeyringValue are
// refused with ErrTooLarge.
//
// Keyrings cannot list items, so the keys are also kept in an index item.
// A key is added to the index before its value is written and removed after
// its value is deleted: the index may name a key whose value is gone (Get
// answers ErrNotFound, LoadAll skips it), never miss one.
//
// Calls into the keyring can block (a D-Bus service that hangs, an unlock
// prompt): every method returns when ctx is done, leaving the call to
// finish in the background; the next call waits for it.
type Keyring struct {
	service string
	backend secrets
	sem     chan struct{} // one keyring operation at a time
}

var _ Store = (*Keyring)(nil)

// NewKeyring returns a Keyring store on the OS keyring. It does not check
// that a keyring answers: Probe does, and Open calls it.
func NewKeyring() *Keyring { return newKeyring(KeyringService, osKeyring{}) }

func newKeyring(service string, backend secrets) *Keyring {
	return &Keyring{service: service, backend: backend, sem: make(chan struct{}, 1)}
}

// Kind returns "keyring".
func (*Keyring) Kind() string { return KindKeyring }

// Backend names the OS keyring this platform uses.
func Backend() string {
	switch runtime.GOOS {
	case "darwin":
		return "macOS Keychain (/usr/bin/security)"
	case "windows":
		return "Windows Credential Manager"
	default:
		return "Secret Service over D-Bus"
	}
}

// Probe checks that the keyring answers by writing, reading back and
// deleting a probe item.
func (k *Keyring) Probe(ctx context.Context) error {
	return k.do(ctx, "probing keyring", func() error {
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		want := "probe-" + hex.EncodeToString(raw[:])
		if err := k.backend.Set(k.service, probeItem, want); err != nil {
			return fmt.Errorf("writing probe item: %w", err)
		}
		got, err := k.backend.Get(k.service, probeItem)
		if err != nil {
			return fmt.Errorf("reading probe item: %w", err)
		}
		if err := k.backend.Delete(k.service, probeItem); err != nil {
			return fmt.Errorf("deleting probe item: %w", err)
		}
		if got != want {
			return errors.New("probe item read back different from what was written")
		}
		return nil
	})
}

// Get returns the value stored under key.
func (k *Keyring) Get(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	var v []byte
	err := k.do(ctx, fmt.Sprintf("reading session %q from keyring", key), func() (err error) {
		v, err = k.load(escapeKey(key))
		return err
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, fmt.Errorf("session %q: %w", key, ErrNotFound)
	}
	return v, err
}

// Put stores value under key.
func (k *Keyring) Put(ctx context.Context, key string, value []byte) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	if len(value) > MaxKeyringValue {
		return fmt.Errorf("storing session %q in keyring: %w: %d bytes, limit %d (session_store: file has no such limit)",
			key, ErrTooLarge, len(value), MaxKeyringValue)
	}
	return k.do(ctx, fmt.Sprintf("storing session %q in keyring", key), func() error {
		keys, err := k.readIndex()
		if err != nil && !errors.Is(err, errCorrupt) {
			return err
		}
		// A damaged index is rebuilt from this key on: its other
		// values stay readable by name and are indexed again when
		// next written.
		added := !slices.Contains(keys, key)
		if added {
			if err := k.writeIndex(append(keys, key)); err != nil {
				return err
			}
		}
		if err := k.store(escapeKey(key), value); err != nil {
			if added {
				_ = k.writeIndex(keys) // best effort; a stale index entry is harmless
			}
			return err
		}
		return nil
	})
}

// Delete removes key and its chunks.
func (k *Keyring) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	return k.do(ctx, fmt.Sprintf("deleting session %q from keyring", key), func() error {
		if err := k.remove(escapeKey(key)); err != nil {
			return err
		}
		keys, err := k.readIndex()
		if err != nil && !errors.Is(err, errCorrupt) {
			return err
		}
		if i := slices.Index(keys, key); i >= 0 || err != nil {
			if i >= 0 {
				keys = slices.Delete(keys, i, i+1)
			}
			return k.writeIndex(keys)
		}
		return nil
	})
}

// List returns the keys in the index, sorted.
func (k *Keyring) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []string
	err := k.do(ctx, "listing keyring sessions", func() (err error) {
		keys, err = k.readIndex()
		return err
	})
	return keys, err
}

// do runs fn as the only keyring operation in flight and returns its error,
// or ctx's once ctx is done (fn then finishes in the background).
func (k *Keyring) do(ctx context.Context, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: waiting for an earlier keyring call: %w", op, ctx.Err())
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-k.sem }()
		done <- fn()
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %s did not answer: %w", op, Backend(), ctx.Err())
	}
}

func (k *Keyring) readIndex() ([]string, error) {
	b, err := k.load(indexItem)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("reading index: %w: %v", errCorrupt, err)
	}
	keys = slices.DeleteFunc(keys, func(key string) bool { return validateKey(key) != nil })
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

func (k *Keyring) writeIndex(keys []string) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	b, err := json.Marshal(slices.Compact(keys))
	if err != nil {
		return err
	}
	if err := k.store(indexItem, b); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}

// manifest is the parsed form of the item that publishes a value.
type manifest struct {
	inline []byte // the value, when it fits in the manifest item
	gen    string // "a" or "b": the chunk generation, when chunked
	count  int
	sum    string // hex SHA-256 of the value
}

func parseManifest(s string) (manifest, error) {
	if b64, ok := strings.CutPrefix(s, inlinePrefix); ok {
		v, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return manifest{}, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		return manifest{inline: v}, nil
	}
	rest, ok := strings.CutPrefix(s, chunkedPrefix)
	parts := strings.Split(rest, ":")
	if !ok || len(parts) != 3 || (parts[0] != "a" && parts[0] != "b") {
		return manifest{}, fmt.Errorf("%w: unknown format", errCorrupt)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 || n > maxChunks || len(parts[2]) != 2*sha256.Size {
		return manifest{}, fmt.Errorf("%w: bad chunk manifest", errCorrupt)
	}
	return manifest{gen: parts[0], count: n, sum: parts[2]}, nil
}

func chunkName(name, gen string, i int) string {
	return name + "#" + gen + "." + strconv.Itoa(i)
}

// load reads the value published under item name; keyring.ErrNotFound when
// there is none.
func (k *Keyring) load(name string) ([]byte, error) {
	s, err := k.backend.Get(k.service, name)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(s)
	if err != nil {
		return nil, err
	}
	if m.gen == "" {
		return m.inline, nil
	}
	var b64 strings.Builder
	for i := range m.count {
		c, err := k.backend.Get(k.service, chunkName(name, m.gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, fmt.Errorf("%w: chunk %d of %d missing", errCorrupt, i+1, m.count)
		}
		if err != nil {
			return nil, fmt.Errorf("reading chunk %d of %d: %w", i+1, m.count, err)
		}
		b64.WriteString(c)
	}
	v, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		return nil, fmt.Errorf("%w: chunks: %v", errCorrupt, err)
	}
	if sum := sha256.Sum256(v); hex.EncodeToString(sum[:]) != m.sum {
		return nil, fmt.Errorf("%w: chunks do not match their checksum", errCorrupt)
	}
	return v, nil
}

// store publishes value under item name, replacing the previous value only
// once the new one is complete.
func (k *Keyring) store(name string, value []byte) error {
	old := manifest{}
	if s, err := k.backend.Get(k.service, name); err == nil {
		old, _ = parseManifest(s) // a damaged manifest is simply replaced
	} else if !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("reading current entry: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(value)
	if len(inlinePrefix)+len(b64) <= itemMax {
		if err := k.set(name, inlinePrefix+b64); err != nil {
			return err
		}
	} else {
		gen := "a"
		if old.gen == "a" {
			gen = "b"
		}
		// Chunks of this generation can only be leftovers of a write
		// that failed: clear them so none outlive this one.
		if err := k.deleteChunks(name, gen); err != nil {
			return err
		}
		var count int
		for ; len(b64) > 0; count++ {
			n := min(itemMax, len(b64))
			if err := k.set(chunkName(name, gen, count), b64[:n]); err != nil {
				return fmt.Errorf("writing chunk %d: %w", count+1, err)
			}
			b64 = b64[n:]
		}
		sum := sha256.Sum256(value)
		if err := k.set(name, fmt.Sprintf("%s%s:%d:%x", chunkedPrefix, gen, count, sum)); err != nil {
			return err
		}
	}
	if old.gen != "" {
		_ = k.deleteChunks(name, old.gen) // unreachable now; a leftover is cleared by a later write
	}
	return nil
}

func (k *Keyring) set(name, s string) error {
	err := k.backend.Set(k.service, name, s)
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("%w: %s refused a %d-byte item: %v", ErrTooLarge, Backend(), len(s), err)
	}
	return err
}

// remove deletes the manifest of item name, then every chunk of both
// generations.
func (k *Keyring) remove(name string) error {
	if err := k.backend.Delete(k.service, name); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	for _, gen := range []string{"a", "b"} {
		if err := k.deleteChunks(name, gen); err != nil {
			return err
		}
	}
	return nil
}

// deleteChunks deletes chunks 0, 1, ... of a generation up to the first
// missing one (chunks are always written in order from 0).
func (k *Keyring) deleteChunks(name, gen string) error {
	for i := range maxChunks {
		err := k.backend.Delete(k.service, chunkName(name, gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("deleting chunk %d: %w", i+1, err)
		}
	}
	return nil
}
