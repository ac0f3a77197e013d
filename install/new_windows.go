package install

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kardianos/service"
)

// New returns this OS's Manager for def: a Task Scheduler logon task for
// the user, a Windows service (through kardianos/service) for System.
func New(def Definition, env Env) (Manager, error) {
	if def.Scope == User {
		return NewTaskScheduler(def, env), nil
	}
	cfg := WindowsService(def)
	s, err := service.New(NewProgram(nil, 0), cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the service control manager: %w", err)
	}
	return &windowsService{def: def, cfg: cfg, svc: s}, nil
}

// windowsService drives a Windows service through kardianos/service.
type windowsService struct {
	def Definition
	cfg *service.Config
	svc service.Service
}

func (m *windowsService) Kind() string                { return "Windows service" }
func (m *windowsService) Where() string               { return Name + " (services.msc)" }
func (m *windowsService) Definition() ([]byte, error) { return windowsServiceText(m.cfg), nil }
func (m *windowsService) Logs() string {
	for i, a := range m.def.Command {
		if a == "--log-file" && i+1 < len(m.def.Command) {
			return m.def.Command[i+1]
		}
	}
	return "the Windows event log"
}

// elevate adds what to do when Windows refuses for lack of rights.
func elevate(err error) error {
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "access is denied") {
		return fmt.Errorf("%w: a Windows service needs an elevated prompt (Run as administrator)", err)
	}
	return err
}

func (m *windowsService) Install(ctx context.Context) (bool, error) {
	// kardianos/service cannot update a service: stop and re-create it, so
	// installing twice updates the definition.
	if _, err := m.svc.Status(); !errors.Is(err, service.ErrNotInstalled) {
		_ = m.stopWait(ctx)
		if err := m.svc.Uninstall(); err != nil {
			return false, elevate(fmt.Errorf("replacing the existing service: %w", err))
		}
	}
	if err := m.svc.Install(); err != nil {
		return false, elevate(fmt.Errorf("creating the service: %w", err))
	}
	return true, nil
}

func (m *windowsService) Uninstall(ctx context.Context) error {
	if _, err := m.svc.Status(); errors.Is(err, service.ErrNotInstalled) {
		return ErrNotInstalled
	}
	_ = m.stopWait(ctx)
	return elevate(m.svc.Uninstall())
}

func (m *windowsService) Start(ctx context.Context) error {
	if _, err := m.svc.Status(); errors.Is(err, service.ErrNotInstalled) {
		return ErrNotInstalled
	}
	return elevate(m.svc.Start())
}

func (m *windowsService) Stop(ctx context.Context) error {
	if _, err := m.svc.Status(); errors.Is(err, service.ErrNotInstalled) {
		return ErrNotInstalled
	}
	return m.stopWait(ctx)
}

// stopWait stops a running service and waits (bounded) until it has.
func (m *windowsService) stopWait(ctx context.Context) error {
	if st, err := m.svc.Status(); err == nil && st != service.StatusRunning {
		return nil
	}
	if err := m.svc.Stop(); err != nil {
		return elevate(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := m.svc.Status(); err != nil || st != service.StatusRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("the service did not stop within 20s")
}

func (m *windowsService) Restart(ctx context.Context) error {
	if err := m.Stop(ctx); err != nil {
		return err
	}
	return elevate(m.svc.Start())
}

func (m *windowsService) Status(ctx context.Context) (Status, error) {
	st, err := m.svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return Status{State: StateNotInstalled}, nil
	case err != nil:
		return Status{State: StateUnknown}, err
	case st == service.StatusRunning:
		return Status{State: StateRunning}, nil
	case st == service.StatusStopped:
		return Status{State: StateStopped}, nil
	}
	return Status{State: StateUnknown}, nil
}
