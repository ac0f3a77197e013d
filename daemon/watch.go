package daemon

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// configDebounce collapses the several events an editor's save produces.
const configDebounce = 300 * time.Millisecond

// watchConfig reports changes of the config file. It watches the directory,
// because editors replace files by renaming a new one over them. The
// goroutine belongs to wg and ends with ctx. A nil channel (never ready)
// is returned when there is nothing to watch.
func (d *Daemon) watchConfig(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	path := d.deps.ConfigPath
	if path == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("not watching the config file; use `credd reload` after edits", "error", err)
		return nil
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		d.log.Warn("not watching the config file; use `credd reload` after edits", "error", err)
		return nil
	}
	out := make(chan struct{}, 1)
	wg.Go(func() {
		defer w.Close()
		var debounce <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == filepath.Clean(path) && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
					debounce = time.After(configDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				d.log.Warn("config watcher", "error", err)
			case <-debounce:
				debounce = nil
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	})
	return out
}
