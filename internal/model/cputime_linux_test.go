package model

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time consumed by the calling OS thread; callers
// lock the goroutine to its thread. On a shared machine it measures the work
// done more steadily than wall time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
