package refresh

// Flight is one outcome many callers wait for: the first demand creates
// it, its single owner (a Refresher's step, a session's renewing caller)
// produces the value, and Land answers every waiter at once. It is the
// singleflight of credd's renewals: concurrent demand costs one upstream
// call.
type Flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// NewFlight returns a flight nobody has landed yet.
func NewFlight[T any]() *Flight[T] { return &Flight[T]{done: make(chan struct{})} }

// Land sets the outcome and wakes every waiter. Call it once.
func (f *Flight[T]) Land(v T, err error) {
	f.val, f.err = v, err
	close(f.done)
}

// Done is closed once the flight landed.
func (f *Flight[T]) Done() <-chan struct{} { return f.done }

// Result is the outcome; only valid once Done is closed.
func (f *Flight[T]) Result() (T, error) { return f.val, f.err }
