package daemon

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// configDebounce collapses the several events an editor's save produces.
const configDebounce = 300 * time.Millisecond

// watchConfig reports changes of the configuration on disk: the config
// file (Deps.ConfigPath) and the shared AWS config and credentials files
// (Deps.AWSConfigFiles, AWSCredentialFiles), which are the configuration
// in zero-config mode and what aws_profile sources resolve in either mode.
// It watches their directories, because editors replace files by renaming
// a new one over them, and follows a chmod too. The goroutine belongs to wg and ends with ctx. A
// nil channel (never ready) is returned when there is nothing to watch,
// or no Deps.LoadConfig to reload with.
func (d *Daemon) watchConfig(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	if d.deps.LoadConfig == nil {
		return nil
	}
	files := map[string]bool{}
	var dirs []string
	for _, f := range append(append([]string{d.deps.ConfigPath}, d.deps.AWSConfigFiles...), d.deps.AWSCredentialFiles...) {
		if f == "" {
			continue
		}
		f = filepath.Clean(f)
		files[f] = true
		if dir := filepath.Dir(f); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	if len(files) == 0 {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("not watching the configuration for changes; use `credd reload` after edits", "error", err)
		return nil
	}
	watched := 0
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil {
			d.log.Warn("not watching a directory for changes; after editing files in it, use `credd reload`", "dir", dir, "error", err)
			continue
		}
		watched++
	}
	if watched == 0 {
		w.Close()
		return nil
	}
	out := make(chan struct{}, 1)
	wg.Go(func() {
		defer w.Close()
		d.followEvents(ctx, w, "config watcher", configDebounce,
			func(ev fsnotify.Event) bool {
				// A chmod too: a file others may now write is refused at
				// once (before they write), and one made private again
				// is taken without another edit.
				return files[filepath.Clean(ev.Name)] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove|fsnotify.Chmod) != 0
			},
			func(changed []string) {
				d.log.Info("configuration changed on disk", "files", changed)
				select {
				case out <- struct{}{}:
				default:
				}
			})
	})
	return out
}

// cacheDebounce collapses the events of one write of an AWS CLI cache
// file (the CLI truncates and writes; credd and others rename).
const cacheDebounce = 100 * time.Millisecond

// watchSSOCaches follows the AWS CLI's token cache: when `aws sso login`,
// or an SDK renewing the shared token, writes the cache file of a session
// credd shares, that session takes the later token (login.SSO.Follow),
// which ends a login-required state without `credd login`. The goroutine
// belongs to wg and ends with ctx.
func (d *Daemon) watchSSOCaches(ctx context.Context, wg *sync.WaitGroup) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("not following the AWS CLI's SSO cache; after `aws sso login`, run `credd reload`", "error", err)
		return
	}
	d.sessions.followCaches(w)
	wg.Go(func() {
		defer func() {
			d.sessions.followCaches(nil)
			w.Close()
		}()
		d.followEvents(ctx, w, "AWS CLI cache watcher", cacheDebounce,
			func(ev fsnotify.Event) bool { return ev.Op&(fsnotify.Write|fsnotify.Create) != 0 },
			func(files []string) {
				for _, f := range files {
					d.sessions.followCache(ctx, f)
				}
			})
	})
}

// followEvents runs a watcher's event loop until ctx ends or the watcher
// closes: events that want selects are collected, and once none has come
// for delay (the several events of one save), fire gets the files they
// named.
func (d *Daemon) followEvents(ctx context.Context, w *fsnotify.Watcher, what string, delay time.Duration, want func(fsnotify.Event) bool, fire func(files []string)) {
	changed := map[string]bool{}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if want(ev) {
				changed[filepath.Clean(ev.Name)] = true
				debounce = time.After(delay)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.log.Warn(what, "error", err)
		case <-debounce:
			debounce = nil
			fire(slices.Sorted(maps.Keys(changed)))
			clear(changed)
		}
	}
}
