// Package daemon wires credd together: one refresher per configured profile,
// the endpoints in front of them, the listeners, the client token and the
// metrics. It owns every goroutine it starts and stops them on cancel.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/source"
)

// Deps are the daemon's dependencies, passed in rather than global.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer // serves /metrics; nil: no /metrics
	Clock      clock.Clock
	HTTPClient *http.Client // for upstream calls
	// AWSConfigFiles and AWSCredentialFiles locate the shared AWS files for
	// aws_profile sources; empty uses the SDK's defaults.
	AWSConfigFiles     []string
	AWSCredentialFiles []string
	// UserName is the local user, the default role session name.
	UserName string
	// ClientToken is the container endpoint's token (see EnsureToken).
	ClientToken []byte
	// Policy overrides the refresh policy's fixed parts (tests); the
	// config's refresh.* keys still apply.
	Policy *refresh.Policy
}

// Daemon is a configured credd.
type Daemon struct {
	cfg        config.Config
	log        *slog.Logger
	refreshers map[string]*refresh.Refresher
	names      []string
	handler    *imds.Handler
	metrics    *metrics
}

// New builds the daemon from a validated configuration.
func New(ctx context.Context, cfg config.Config, deps Deps) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	hc := deps.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	d := &Daemon{cfg: cfg, log: log, refreshers: map[string]*refresh.Refresher{}}
	m, err := newMetrics(reg, d)
	if err != nil {
		return nil, err
	}
	d.metrics = m

	policy := refresh.DefaultPolicy()
	if deps.Policy != nil {
		policy = *deps.Policy
	}
	policy.Ahead = cfg.Refresh.Ahead.Duration
	policy.IdleAfter = cfg.Refresh.IdleAfter.Duration

	b := builder{cfg: cfg, deps: deps, http: hc, awsProfiles: map[string]*source.AWSProfile{}}
	for name := range cfg.Profiles {
		d.names = append(d.names, name)
	}
	sort.Strings(d.names)
	// Build in dependency order so a chain's source refresher exists first.
	var build func(name string) *refresh.Refresher
	build = func(name string) *refresh.Refresher {
		if r, ok := d.refreshers[name]; ok {
			return r
		}
		p := cfg.Profiles[name]
		var signer source.Retriever
		if p.Source() == config.SourceAssumeRole {
			sp := cfg.Profiles[p.SourceProfile]
			if sp.Source() == config.SourceAWSProfile {
				// The first hop signs with what the SDK resolved, long-term
				// keys included, exactly as the SDK's own chains do.
				signer = b.awsProfile(p.SourceProfile).Signer()
			} else {
				signer = source.RetrieverFunc(build(p.SourceProfile).Current)
			}
		}
		r := refresh.New(name, b.source(name, signer), refresh.Options{
			Policy:   policy,
			Clock:    deps.Clock,
			Logger:   log.With("component", "refresh"),
			OnResult: m.observeRefresh,
		})
		d.refreshers[name] = r
		return r
	}
	for _, name := range d.names {
		build(name)
	}

	hosts := append([]string{cfg.Listen}, cfg.ExtraListen...)
	var mh http.Handler
	if deps.Gatherer != nil {
		mh = promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{})
	}
	token := deps.ClientToken
	d.handler = imds.New(imds.Options{
		Provider:       d,
		DefaultProfile: DefaultProfile(cfg),
		Region:         b.region(ctx, DefaultProfile(cfg)),
		ClientToken:    func() []byte { return token },
		AllowV1:        cfg.IMDS.AllowV1,
		Hosts:          hosts,
		Clock:          deps.Clock,
		Logger:         log.With("component", "http"),
		Metrics:        m,
		MetricsHandler: mh,
	})
	return d, nil
}

// DefaultProfile is the profile IMDS lists: default_profile, else the only
// profile, else one named "default".
func DefaultProfile(cfg config.Config) string {
	if cfg.DefaultProfile != "" {
		return cfg.DefaultProfile
	}
	if len(cfg.Profiles) == 1 {
		for name := range cfg.Profiles {
			return name
		}
	}
	if _, ok := cfg.Profiles["default"]; ok {
		return "default"
	}
	return ""
}

// Current implements imds.Provider.
func (d *Daemon) Current(ctx context.Context, profile string) (cred.Credentials, error) {
	r, ok := d.refreshers[profile]
	if !ok {
		return cred.Credentials{}, fmt.Errorf("%w: %q", imds.ErrUnknownProfile, profile)
	}
	return r.Current(ctx)
}

// Handler serves every HTTP endpoint.
func (d *Daemon) Handler() http.Handler { return d.handler }

// Status reports every profile's refresher, sorted by name.
func (d *Daemon) Status() []refresh.Status {
	out := make([]refresh.Status, 0, len(d.names))
	for _, n := range d.names {
		out = append(out, d.refreshers[n].Status())
	}
	return out
}

// Server returns an http.Server with credd's limits: header size (answered
// 431 beyond it) and timeouts.
func (d *Daemon) Server() *http.Server {
	return &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
}

// MaxHeaderBytes bounds request headers. SDK requests carry well under 2 KiB.
const MaxHeaderBytes = 16 << 10

// Run serves on the listeners and runs every refresher until ctx ends, then
// stops accepting, lets in-flight requests finish (up to 10 s) and stops the
// refreshers. It owns and closes the listeners. The first listener is the
// loopback one; any further ones (extra_listen) accept only clients from
// allow_clients.
func (d *Daemon) Run(ctx context.Context, listeners ...net.Listener) error {
	for i := 1; i < len(listeners); i++ {
		ln, err := allowOnly(listeners[i], d.cfg.AllowClients, d.log)
		if err != nil {
			return err
		}
		listeners[i] = ln
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range d.refreshers {
		wg.Go(func() { _ = r.Run(rctx) })
	}
	srv := d.Server()
	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		ln = hopLimited(ln, d.cfg.IMDS.HopLimit)
		d.log.Info("listening", "addr", ln.Addr().String())
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving on %s: %w", ln.Addr(), err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		d.log.Warn("shutdown: in-flight requests cut off", "error", serr)
		_ = srv.Close()
	}
	cancel()
	wg.Wait()
	return err
}

// Listen opens the configured listeners: listen, then extra_listen.
func Listen(cfg config.Config) ([]net.Listener, error) {
	var out []net.Listener
	for _, addr := range append([]string{cfg.Listen}, cfg.ExtraListen...) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w (is another credd running? `credd status` tells; or change listen in the config)", addr, err)
		}
		out = append(out, ln)
	}
	return out, nil
}
