package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// remoteLogin runs the terminal's side of a cross-device sign-in: it
// prints the URL, reads the codes the user pastes and passes each to the
// daemon until one signs in. Meanwhile it keeps polling the flow, so that
// the daemon counts this terminal as waiting and a sign-in finished
// elsewhere ends it too.
func (a *app) remoteLogin(ctx context.Context, cl *control.Client, start control.LoginStart) error {
	fmt.Fprintf(a.io.Out, "To sign in to %s, open this address on any device:\n\n    %s\n\nthen paste the code the page shows here.\n", start.Session, start.URL)
	lines := make(chan string)
	go func() { // ends with stdin; nothing can interrupt a read
		sc := bufio.NewScanner(a.io.In)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(lines)
	}()
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	states := make(chan control.LoginState, 1)
	go func() {
		for {
			st, err := cl.LoginStatus(pctx, start.ID, 25*time.Second)
			if pctx.Err() != nil {
				return
			}
			if err == nil && st.State == "pending" {
				continue
			}
			if err != nil {
				st = control.LoginState{State: "failed", Error: err.Error()}
			}
			states <- st
			return
		}
	}()
	for {
		fmt.Fprint(a.io.Out, "Code: ")
		select {
		case st := <-states:
			fmt.Fprintln(a.io.Out)
			return a.loginEnded(start, st)
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = cl.CancelLogin(cctx, start.ID)
			cancel()
			return exitf(ExitFailure, "sign-in cancelled")
		case line, ok := <-lines:
			if !ok {
				return exitf(ExitFailure, "no code was pasted (end of input): run `credd login --signin --remote` again")
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			st, err := cl.SubmitLoginCode(ctx, start.ID, line)
			switch {
			case err == nil:
				return a.loginEnded(start, st)
			case errors.Is(err, cred.ErrInvalid):
				fmt.Fprintf(a.io.Out, "%v: paste it again.\n", err)
			default:
				return exitf(ExitFailure, "sign-in to %s failed: %w", start.Session, clientErr(err))
			}
		}
	}
}
