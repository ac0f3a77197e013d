package login

import (
	"context"
	"errors"
	"fmt"
)

// remoteStarter is a Method with a cross-device sign-in (AWS Sign-In's
// `aws login --remote`): the user opens authURL anywhere and pastes the
// code it ends with; redeem trades it for tokens, and answers
// ErrWrongCode for a code that is not this sign-in's.
type remoteStarter interface {
	StartRemote(ctx context.Context) (authURL string, redeem func(ctx context.Context, pasted string) (Tokens, error), err error)
}

// ErrNoRemote: the session's provider has no cross-device sign-in.
var ErrNoRemote = errors.New("only AWS Sign-In (login_session) has the cross-device sign-in; use --device for a device code")

// ErrFlowEnded: a code was pasted for a sign-in that is over.
var ErrFlowEnded = errors.New("this sign-in has ended")

type pastedCode struct {
	code  string
	reply chan error
}

// remoteFlow starts a cross-device sign-in and returns the function that
// waits for pasted codes until one signs in.
func (s *Session) remoteFlow(ctx context.Context, f *Flow) (func(context.Context) (Tokens, error), error) {
	m, ok := s.method.(remoteStarter)
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.name, ErrNoRemote)
	}
	u, redeem, err := m.StartRemote(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the cross-device sign-in for %s: %w", s.name, err)
	}
	f.URL, f.Remote, f.codes = u, true, make(chan pastedCode)
	return func(ctx context.Context) (Tokens, error) {
		for {
			select {
			case p := <-f.codes:
				t, err := redeem(ctx, p.code)
				p.reply <- err
				if errors.Is(err, ErrWrongCode) {
					continue // mistyped: the user may paste it again
				}
				return t, err
			case <-ctx.Done():
				return Tokens{}, ctx.Err()
			}
		}
	}, nil
}

// Submit hands a cross-device flow the code the user pasted, and waits
// until it is redeemed: nil once signed in; an error wrapping
// ErrWrongCode leaves the flow waiting for another; any other error
// ended it.
func (f *Flow) Submit(ctx context.Context, code string) error {
	if !f.Remote {
		return errors.New("this sign-in takes no code: it is not a cross-device sign-in")
	}
	reply := make(chan error, 1)
	select {
	case f.codes <- pastedCode{code: code, reply: reply}:
	case <-f.done:
		return fmt.Errorf("%w: %v", ErrFlowEnded, f.err)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		if err != nil {
			return err
		}
		select { // signed in: wait until the session holds the tokens
		case <-f.done:
		case <-ctx.Done():
		}
		return f.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}
