// Package fold limits repeated log and audit lines: a Window writes the
// first event of a key at once and folds the ones that follow into one
// line with a count. It needs nothing but the standard library, so that
// everything that logs what it refuses can use it without the audit log's
// file rotation.
package fold

import (
	"sync"
	"time"
)

// Window limits repeated events to one line per key and window: the first
// event of a key is written at once; the ones that follow within the
// window are counted, and written as one line (the latest event, with the
// count) when the window is over, by Due or by the key's next event. A
// web page or a looping script refused ten thousand times a minute thus
// costs two lines a minute, not ten thousand.
//
// The keys are bounded: beyond max, events of new keys fold into one
// overflow key, so varying what goes into a key cannot grow memory either.
type Window[T any] struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	slots map[string]*slot[T]
}

// OverflowKey is the key events fold into once a Window holds max keys.
const OverflowKey = "(more peers)"

type slot[T any] struct {
	last   time.Time // when a line was last written for this key
	folded int       // events since, not yet written
	latest T         // the last of those
}

// Folded is a line due: the latest event of a key and how many events it
// stands for.
type Folded[T any] struct {
	Key   string
	Event T
	Count int
}

// New returns a Window of the given length and bound on keys.
func New[T any](window time.Duration, max int) *Window[T] {
	return &Window[T]{window: window, max: max, slots: map[string]*slot[T]{}}
}

// Add records an event at now. It reports whether to write a line for it
// now, and how many events that line stands for (1, plus the events folded
// since the key's last line when the window passed without a Due).
func (f *Window[T]) Add(key string, now time.Time, ev T) (write bool, count int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.slots[key]
	if !ok && len(f.slots) >= f.max {
		key = OverflowKey
		s, ok = f.slots[key]
	}
	if !ok {
		f.slots[key] = &slot[T]{last: now}
		return true, 1
	}
	if now.Sub(s.last) >= f.window {
		n := s.folded + 1
		s.last, s.folded = now, 0
		var zero T
		s.latest = zero
		return true, n
	}
	s.folded++
	s.latest = ev
	return false, 0
}

// Due returns the folded events of every key whose window is over at now,
// and forgets keys that were quiet for a whole window. all: every folded
// event, window over or not (at close).
func (f *Window[T]) Due(now time.Time, all bool) []Folded[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Folded[T]
	for k, s := range f.slots {
		over := now.Sub(s.last) >= f.window
		switch {
		case s.folded > 0 && (over || all):
			out = append(out, Folded[T]{Key: k, Event: s.latest, Count: s.folded})
			s.last, s.folded = now, 0
			var zero T
			s.latest = zero
		case s.folded == 0 && over:
			delete(f.slots, k)
		}
	}
	return out
}

// Len is the number of keys held.
func (f *Window[T]) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.slots)
}
