package daemon

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/fold"
)

func TestListenerFiltersByCIDR(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cidrs []string
		want  bool
	}{
		{"loopback client allowed", []string{"127.0.0.0/8"}, true},
		{"client outside every network refused", []string{"172.17.0.0/16", "10.0.0.0/8"}, false},
		{"no networks: nothing allowed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			pol, err := policyOf(cfg, config.Listener{Address: raw.Addr().String(), AllowClients: tc.cidrs})
			if err != nil {
				t.Fatal(err)
			}
			d := &Daemon{log: slog.New(slog.DiscardHandler), clock: clock.Real{}, warnings: fold.New[struct{}](time.Minute, 10)}
			ln := &listener{Listener: raw, addr: raw.Addr().String(), d: d}
			ln.policy.Store(pol)
			defer ln.Close()
			accepted := make(chan bool, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					c.Close()
				}
				accepted <- err == nil
			}()
			c, err := net.Dial("tcp", raw.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !tc.want {
				// A refused connection is closed by the server: reads see EOF.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
					t.Errorf("refused client could read: n=%d err=%v", n, err)
				}
				ln.Close()
				if <-accepted {
					t.Error("Accept returned a refused connection")
				}
				return
			}
			if !<-accepted {
				t.Error("allowed client was not accepted")
			}
		})
	}
}
