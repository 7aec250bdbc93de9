package procs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// StopGrace is how long Stop waits after SIGTERM before it sends
	// SIGKILL.
	StopGrace = 10 * time.Second
	// KillWait bounds how long Kill waits for the process to exit after
	// SIGKILL.
	KillWait = 10 * time.Second
	// TailLines is how many last lines of a log the errors of this package
	// quote.
	TailLines = 40
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every architecture Go supports on Linux.
const clockTicks = 100

// Proc is a child process running in its own process group, with its
// standard output and error in a log file.
type Proc struct {
	// Name names the process in messages; its log is Name.log.
	Name string
	// Log is the path of the log file.
	Log string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// Start starts bin with args in a new process group. Its environment is
// this process's plus env ("KEY=value"; an entry overrides an earlier one
// of the same key), and its standard output and error go to the file
// dir/name.log, created or truncated. The caller ends the process with Stop
// or Kill.
func Start(dir, name string, env []string, bin string, args ...string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process ID, which is also its process group's ID.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done returns a channel closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns the process's exit error as exec.Cmd.Wait reports it (nil
// for status 0); valid only once Exited.
func (p *Proc) Err() error { return p.err }

// exitError describes the exited process with the last TailLines lines of
// its log.
func (p *Proc) exitError() error {
	status := "exit status 0"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%s (pid %d) exited: %s\n%s", p.Name, p.PID(), status, p.Tail(TailLines))
}

// Stop sends SIGTERM to the process group, SIGKILL after StopGrace if the
// process is still running, and waits for it to exit.
func (p *Proc) Stop() {
	_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(StopGrace):
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	<-p.done
}

// Kill sends SIGKILL to the process group and waits up to KillWait for the
// process to exit: the abrupt end of a fault test, or a quick cleanup.
func (p *Proc) Kill() {
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(KillWait):
	}
}

// PeakRSS returns the process's peak resident set size (VmHWM of
// /proc/PID/status) in bytes. It fails once the process has exited.
func (p *Proc) PeakRSS() (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", p.PID())
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: VmHWM: %w", path, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no VmHWM", path)
}

// CPUSeconds returns the user + system CPU time the process has used so
// far, in seconds (utime + stime of /proc/PID/stat). It fails once the
// process has exited.
func (p *Proc) CPUSeconds() (float64, error) {
	path := fmt.Sprintf("/proc/%d/stat", p.PID())
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s, err := statCPUSeconds(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// statCPUSeconds returns utime + stime, in seconds, of a /proc/PID/stat
// line.
func statCPUSeconds(stat string) (float64, error) {
	// The command name (field 2, in parentheses) may hold spaces and
	// parentheses; the fields after its last ")" are plain.
	i := strings.LastIndex(stat, ") ")
	if i < 0 {
		return 0, fmt.Errorf("unexpected format %q", stat)
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected format %q", stat)
	}
	// f starts at field 3 (state): utime is field 14, stime field 15.
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return float64(u+s) / clockTicks, nil
}

// Tail returns the last n lines of the process's log.
func (p *Proc) Tail(n int) string { return Tail(p.Log, n) }

// Tail returns the last n lines of the file at path, or the error reading
// it as text.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Poll calls cond every interval until it returns true, and fails when
// timeout passes first (quoting cond's last error), when ctx ends, or at
// once when one of the watched processes has exited (quoting its log's
// last lines). An error from cond alone does not end the wait: it may be a
// server not listening yet. what names the wait in the error.
func Poll(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, error), watch ...*Proc) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		for _, p := range watch {
			if p.Exited() {
				return fmt.Errorf("waiting for %s: %w", what, p.exitError())
			}
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
