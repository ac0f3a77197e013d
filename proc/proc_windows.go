//go:build windows

package proc

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// shellCommand is how the AWS SDK runs credential_process here.
func shellCommand(line string) (string, []string) { return "cmd.exe", []string{"/C", line} }

// isolate puts the command into a job object of its own before it runs a
// single instruction, and makes the context's end terminate the job: every
// process in it, which on Windows is everything the helper started.
//
// exec.Cmd has no hook between creating a process and running it, so the
// process is created suspended, and the hook is the command's stdin: exec
// copies it into the child's stdin pipe from a goroutine it starts after
// the process exists (the write of cmd.Process happens before that
// goroutine starts). Its first Read assigns the process to the job,
// resumes it, and ends stdin (a daemon has none to give).
func isolate(cmd *exec.Cmd) {
	j := &job{cmd: cmd, h: &jobHandle{}}
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_SUSPENDED}
	cmd.Stdin = j
	cmd.Cancel = j.kill
	// The handle is closed when the command is gone (exec offers no hook
	// after Wait either); processes left in the job run on.
	runtime.AddCleanup(j, (*jobHandle).close, j.h)
}

// job is one command's job object.
type job struct {
	cmd  *exec.Cmd
	once sync.Once
	h    *jobHandle
}

// jobHandle is the job object's handle, apart from the job so that a
// cleanup can close it.
type jobHandle struct {
	mu     sync.Mutex
	handle windows.Handle // 0 until the process is in the job
}

// Read runs once, in exec's stdin goroutine, with the process created
// and suspended: it puts the process into a new job and resumes it.
func (j *job) Read([]byte) (int, error) {
	j.once.Do(j.start)
	return 0, io.EOF
}

func (j *job) start() {
	pid := uint32(j.cmd.Process.Pid)
	if h, err := newJob(pid); err == nil {
		j.h.mu.Lock()
		j.h.handle = h
		j.h.mu.Unlock()
	}
	// Resumed even when the job failed: the helper runs as it would
	// without credd's care, and kill falls back to the process alone. A
	// helper that cannot be resumed stays suspended until the deadline
	// kills it.
	_ = resume(pid)
}

// newJob makes a job object and puts the process pid into it.
func newJob(pid uint32) (windows.Handle, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	defer windows.CloseHandle(p)
	if err := windows.AssignProcessToJobObject(h, p); err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	return h, nil
}

// resume resumes the threads of process pid (a process created suspended
// has one).
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(snap)
	var te windows.ThreadEntry32
	te.Size = uint32(unsafe.Sizeof(te))
	resumed := false
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		t, oerr := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if oerr != nil {
			return oerr
		}
		_, rerr := windows.ResumeThread(t)
		windows.CloseHandle(t)
		if rerr != nil {
			return rerr
		}
		resumed = true
	}
	if !resumed {
		return errors.New("no thread of the helper to resume")
	}
	return nil
}

// kill terminates the job, or the process alone if it is not in one.
func (j *job) kill() error {
	j.h.mu.Lock()
	h := j.h.handle
	j.h.mu.Unlock()
	if h == 0 {
		err := j.cmd.Process.Kill()
		if errors.Is(err, os.ErrProcessDone) {
			return os.ErrProcessDone
		}
		return err
	}
	return windows.TerminateJobObject(h, 1)
}

// close releases the job's handle; processes left in it run on.
func (h *jobHandle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handle != 0 {
		windows.CloseHandle(h.handle)
		h.handle = 0
	}
}
