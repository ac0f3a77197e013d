package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// watchTemps reports, through inotify, the steps of each write into dir:
// "create k" when the k-th temp file appears, "modify k" when data is first
// written to it, "close k" when it is closed after its sync (just before the
// rename). stop ends the watch and waits for its goroutine.
func watchTemps(t *testing.T, dir string) (events <-chan string, stop func()) {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MODIFY|syscall.IN_CLOSE_WRITE); err != nil {
		syscall.Close(fd)
		t.Fatalf("inotify: %v", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // nonblocking: Close wakes a blocked Read
	ch := make(chan string, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		temps := map[string]int{} // temp file name -> write number
		modified := map[string]bool{}
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					ch <- "error " + err.Error()
				}
				return
			}
			for b := buf[:n]; len(b) >= syscall.SizeofInotifyEvent; {
				mask := binary.NativeEndian.Uint32(b[4:8])
				nameLen := int(binary.NativeEndian.Uint32(b[12:16]))
				name := string(bytes.TrimRight(b[syscall.SizeofInotifyEvent:syscall.SizeofInotifyEvent+nameLen], "\x00"))
				b = b[syscall.SizeofInotifyEvent+nameLen:]
				if !strings.HasPrefix(name, tempPrefix) {
					continue
				}
				var ev string
				switch {
				case mask&syscall.IN_CREATE != 0:
					temps[name] = len(temps) + 1
					ev = fmt.Sprintf("create %d", temps[name])
				case mask&syscall.IN_MODIFY != 0 && !modified[name]:
					modified[name] = true
					ev = fmt.Sprintf("modify %d", temps[name])
				case mask&syscall.IN_CLOSE_WRITE != 0:
					ev = fmt.Sprintf("close %d", temps[name])
				default:
					continue
				}
				select {
				case ch <- ev:
				case <-done:
					return
				}
			}
		}
	}()
	return ch, func() {
		close(done)
		f.Close()
		wg.Wait()
	}
}

const haveWatch = true
