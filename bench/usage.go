package bench

import (
	"io"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// usage measures this process's CPU time and allocations over an interval.
type usage struct {
	cpu   time.Duration
	alloc uint64
}

func startUsage() usage {
	return usage{cpu: cpuTime(), alloc: allocated()}
}

// stop returns the CPU milliseconds and MiB allocated since startUsage.
func (u usage) stop() (cpuMS, allocMiB float64) {
	return ms(cpuTime() - u.cpu), MiB(allocated() - u.alloc)
}

// cpuTime is this process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// allocated is the cumulative bytes allocated on the heap.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// startProfile starts a CPU profile into w (nothing when w is nil) and
// returns the function that stops it.
func startProfile(w io.Writer) (func(), error) {
	if w == nil {
		return func() {}, nil
	}
	if err := pprof.StartCPUProfile(w); err != nil {
		return nil, err
	}
	return pprof.StopCPUProfile, nil
}
