package daemon

import (
	"context"
	"os"
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

// cacheDebounce collapses the events of one write of an AWS CLI cache
// file (the CLI truncates and writes; credd and others rename).
const cacheDebounce = 100 * time.Millisecond

// cacheWatch follows the AWS CLI's SSO token cache directories of the
// sso sessions that share it.
type cacheWatch struct {
	w    *fsnotify.Watcher
	dirs map[string]bool // watched
}

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
	d.logins.mu.Lock()
	d.logins.caches = &cacheWatch{w: w, dirs: map[string]bool{}}
	d.watchCacheDirsLocked()
	d.logins.mu.Unlock()
	wg.Go(func() {
		defer func() {
			d.logins.mu.Lock()
			d.logins.caches = nil
			d.logins.mu.Unlock()
			w.Close()
		}()
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
				if ev.Op&(fsnotify.Write|fsnotify.Create) != 0 {
					changed[filepath.Clean(ev.Name)] = true
					debounce = time.After(cacheDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				d.log.Warn("AWS CLI cache watcher", "error", err)
			case <-debounce:
				debounce = nil
				for file := range changed {
					d.followCache(ctx, file)
				}
				clear(changed)
			}
		}
	})
}

// watchCacheDirsLocked adds the cache directory of every session sharing
// the AWS CLI's cache to the watch, creating it as the CLI does (0700).
// Called with d.logins.mu held, after the sessions change.
func (d *Daemon) watchCacheDirsLocked() {
	c := d.logins.caches
	if c == nil {
		return
	}
	for _, si := range d.logins.byName {
		if si.sso == nil || si.sso.CacheFile == "" {
			continue
		}
		dir := filepath.Dir(si.sso.CacheFile)
		if c.dirs[dir] {
			continue
		}
		err := os.MkdirAll(dir, 0o700)
		if err == nil {
			err = c.w.Add(dir)
		}
		if err != nil {
			d.log.Warn("not following the AWS CLI's SSO cache; after `aws sso login`, run `credd reload`", "dir", dir, "error", err)
			continue
		}
		c.dirs[dir] = true
	}
}

// followCache offers a changed cache file to the sessions sharing it.
func (d *Daemon) followCache(ctx context.Context, file string) {
	d.logins.mu.Lock()
	var sharing []*signin
	for _, si := range d.logins.byName {
		if si.sso != nil && si.sso.CacheFile != "" && filepath.Clean(si.sso.CacheFile) == file {
			sharing = append(sharing, si)
		}
	}
	d.logins.mu.Unlock()
	for _, si := range sharing {
		si.sso.Follow(ctx, si.sess)
	}
}
