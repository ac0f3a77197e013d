package install

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// HealthChecker asks the running daemon how it is. It is the seam between
// `credd service status` and the daemon: today an HTTP probe of /healthz on
// the listen address (HTTPHealth); the control socket (DESIGN.md §5) will
// answer with the daemon's own status through the same interface.
type HealthChecker interface {
	// Health returns nil when the daemon answers and says it is healthy.
	Health(ctx context.Context) error
	// Where names what was asked, for messages.
	Where() string
}

// HTTPHealth probes GET http://<listen>/healthz.
type HTTPHealth struct {
	Listen string       // the daemon's listen address, host:port
	Client *http.Client // with a timeout
}

var _ HealthChecker = HTTPHealth{}

// Where is the probed URL.
func (h HTTPHealth) Where() string { return "http://" + h.Listen + "/healthz" }

// Health implements HealthChecker.
func (h HTTPHealth) Health(ctx context.Context) error {
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		return fmt.Errorf("listen address %q: %w", h.Listen, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.Where(), nil)
	if err != nil {
		return err
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", h.Where(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", h.Where(), resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
