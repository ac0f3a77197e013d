package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Existing opens, without creating anything, the stores that may hold
// credd's sessions under session_store kind: the OS keyring (keyring; auto
// when it answers) and the session files under stateDir (file, auto). A
// memory store keeps nothing. problems are stores that could not be
// opened, so their sessions remain; notes are what else a user should
// know about what was opened.
func Existing(ctx context.Context, kind, stateDir string) (stores []Store, problems, notes []string) {
	if kind == "" {
		kind = KindAuto
	}
	if kind == KindKeyring || kind == KindAuto {
		kr := NewKeyring()
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		err := kr.Probe(pctx)
		cancel()
		switch {
		case err == nil:
			stores = append(stores, kr)
		case kind == KindKeyring:
			problems = append(problems, fmt.Sprintf("the OS keyring (%s) did not answer (%v): credd's sessions there remain; run `credd service uninstall --purge` again once it answers", Backend(), err))
		default:
			notes = append(notes, fmt.Sprintf("the OS keyring (%s) did not answer, so credd kept its sessions in files (session_store: auto)", Backend()))
		}
	}
	if kind == KindFile || kind == KindAuto {
		dir := filepath.Join(stateDir, SessionsDir)
		if _, err := os.Stat(dir); err == nil {
			files, err := NewFile(dir)
			if err != nil {
				// The directory goes with the state dir all the same.
				notes = append(notes, fmt.Sprintf("cannot list the sessions in %s (%v); it is deleted with the state dir", dir, err))
			} else {
				stores = append(stores, files)
			}
		}
	}
	return stores, problems, notes
}

// Name names a store for messages: "keyring (Secret Service)", "file".
func Name(st Store) string {
	if st.Kind() == KindKeyring {
		return "keyring (" + Backend() + ")"
	}
	return st.Kind()
}

// Purge is what `credd service uninstall --purge` deletes: credd's sessions
// in its stores, then the config file, the state directory and the logs.
type Purge struct {
	sessions []held
	what     []string // what a confirmation lists
	paths    []string // those that exist
	problems []string // what cannot be deleted, and why
}

type held struct {
	st  Store
	key string
}

// PlanPurge lists what purging deletes: the sessions stores hold, and
// those of paths that exist. problems (stores that could not be opened)
// make Run fail after deleting the rest.
func PlanPurge(ctx context.Context, stores []Store, paths, problems []string) Purge {
	p := Purge{problems: problems}
	for _, st := range stores {
		keys, err := st.List(ctx)
		if err != nil {
			p.problems = append(p.problems, fmt.Sprintf("listing the sessions in the %s store: %v; they remain: run `credd service uninstall --purge` again", st.Kind(), err))
			continue
		}
		for _, k := range keys {
			p.sessions = append(p.sessions, held{st, k})
		}
		if len(keys) > 0 {
			p.what = append(p.what, fmt.Sprintf("sessions in the %s store: %s", Name(st), strings.Join(keys, ", ")))
		}
	}
	for _, path := range paths {
		if _, err := os.Lstat(path); err == nil {
			p.paths = append(p.paths, path)
		}
	}
	p.what = append(p.what, p.paths...)
	return p
}

// What lists what Run deletes, for a confirmation.
func (p Purge) What() []string { return p.what }

// Empty reports whether there is nothing to delete and nothing to fail.
func (p Purge) Empty() bool { return len(p.what) == 0 && len(p.problems) == 0 }

// Run deletes the sessions, then the paths (the file store lives in the
// state dir), telling deleted of each. What could not be deleted, and the
// problems PlanPurge was given, make it fail.
func (p Purge) Run(ctx context.Context, deleted func(what string)) error {
	var errs []error
	for _, s := range p.sessions {
		if err := s.st.Delete(ctx, s.key); err != nil {
			errs = append(errs, fmt.Errorf("session %s: %w", s.key, err))
			continue
		}
		deleted(fmt.Sprintf("session %s from the %s store", s.key, Name(s.st)))
	}
	for _, path := range p.paths {
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted(path)
	}
	for _, problem := range p.problems {
		errs = append(errs, errors.New(problem))
	}
	return errors.Join(errs...)
}
