package procs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStatCPUSeconds(t *testing.T) {
	// Fields 3..15 of /proc/PID/stat; utime 250 and stime 75 ticks.
	rest := "S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 1 0 100 2000 300"
	for _, c := range []struct {
		name, stat string
		want       float64
		wantErr    bool
	}{
		{"plain", "123 (worker) " + rest, 3.25, false},
		{"name with spaces and parens", "123 (a) b (c) " + rest, 3.25, false},
		{"no name", "123 worker " + rest, 0, true},
		{"short", "123 (worker) S 1 2", 0, true},
		{"bad utime", "123 (worker) S 1 2 3 4 5 6 7 8 9 10 x 75", 0, true},
	} {
		got, err := statCPUSeconds(c.stat)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s: statCPUSeconds = %v, %v; want %v, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "c", 2: "b\nc", 5: "a\nb\nc"} {
		if got := Tail(path, n); got != want {
			t.Errorf("Tail(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing"), 3); !strings.Contains(got, "no such file") {
		t.Errorf("Tail of a missing file = %q, want the error", got)
	}
}

// TestProc starts a shell that prints a line and then waits, reads its
// /proc figures and stops it with SIGTERM.
func TestProc(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(dir, "sh", []string{"PROCS_TEST=hello"}, "/bin/sh", "-c", `echo "$PROCS_TEST"; exec sleep 60`)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if p.Log != filepath.Join(dir, "sh.log") {
		t.Errorf("Log = %s", p.Log)
	}
	err = Poll(t.Context(), 10*time.Second, 10*time.Millisecond, "the greeting", func() (bool, error) {
		return p.Tail(1) == "hello", nil
	}, p)
	if err != nil {
		t.Fatal(err)
	}
	if rss, err := p.PeakRSS(); err != nil || rss <= 0 {
		t.Errorf("PeakRSS = %d, %v; want > 0", rss, err)
	}
	if s, err := p.CPUSeconds(); err != nil || s < 0 {
		t.Errorf("CPUSeconds = %v, %v; want >= 0", s, err)
	}
	if p.Exited() {
		t.Fatal("exited before Stop")
	}
	p.Stop()
	if !p.Exited() {
		t.Fatal("running after Stop")
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("Err = %v, want killed by SIGTERM", p.Err())
	}
}

// TestKill kills a process group whose leader ignores SIGTERM.
func TestKill(t *testing.T) {
	p, err := Start(t.TempDir(), "stubborn", nil, "/bin/sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`)
	if err != nil {
		t.Fatal(err)
	}
	if err := Poll(t.Context(), 10*time.Second, 10*time.Millisecond, "ready", func() (bool, error) { return p.Tail(1) == "ready", nil }, p); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if !p.Exited() {
		t.Fatal("running after Kill")
	}
}

// TestPollWatch fails at once when a watched process exits, quoting its log.
func TestPollWatch(t *testing.T) {
	p, err := Start(t.TempDir(), "failing", nil, "/bin/sh", "-c", "echo broken config; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	err = Poll(t.Context(), time.Minute, 10*time.Millisecond, "never", func() (bool, error) { return false, nil }, p)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "broken config") {
		t.Errorf("Poll = %v, want the exit status and the log", err)
	}
}

// TestPollTimeout quotes cond's last error.
func TestPollTimeout(t *testing.T) {
	err := Poll(t.Context(), 30*time.Millisecond, 10*time.Millisecond, "nothing", func() (bool, error) {
		return false, os.ErrNotExist
	})
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), os.ErrNotExist.Error()) {
		t.Errorf("Poll = %v, want a timeout quoting the last error", err)
	}
}
