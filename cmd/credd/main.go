// Command credd is a local AWS credential daemon. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/credd/credd/cmd/credd/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful shutdown, a second one
	// gets the default behaviour: exit at once.
	go func() { <-ctx.Done(); stop() }()
	code := cli.Run(ctx, os.Args[1:], cli.Std())
	stop()
	os.Exit(code)
}
