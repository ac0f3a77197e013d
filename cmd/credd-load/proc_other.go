//go:build !linux

package main

import (
	"errors"
	"time"
)

var errNoProc = errors.New("the footprint mode reads /proc and runs on Linux only")

func procSupported() error               { return errNoProc }
func rss(int) (int64, error)             { return 0, errNoProc }
func cpuTime(int) (time.Duration, error) { return 0, errNoProc }
