package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcStatus reads VmRSS and VmHWM (peak RSS) of a process from
// /proc/<pid>/status, in bytes; pid 0 means this process.
func ProcStatus(pid int) (rss, hwm uint64, err error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %q: %w", key, val, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// ResetPeakRSS resets this process's VmHWM to its current RSS (Linux ≥ 4.0,
// /proc/self/clear_refs "5"). It reports whether the reset worked; when it
// did not, VmHWM still holds the peak since the process started.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// Sampler tracks this process's peak goroutine count and RSS while a
// measurement runs, sampling every interval; the peak RSS also comes from
// VmHWM after ResetPeakRSS, which sampling cannot miss.
type Sampler struct {
	interval time.Duration
	stop     chan struct{}
	done     sync.WaitGroup

	mu             sync.Mutex
	peakGoroutines int
	peakRSS        uint64
	hwmReset       bool
}

// Sample is what a Sampler saw.
type Sample struct {
	// PeakGoroutines is the most goroutines seen at once.
	PeakGoroutines int
	// PeakRSS is the highest RSS: VmHWM when it could be reset, else the
	// highest sampled VmRSS.
	PeakRSS uint64
	// HWM says PeakRSS is the kernel's VmHWM rather than sampled.
	HWM bool
}

// StartSampler starts sampling every interval.
func StartSampler(interval time.Duration) *Sampler {
	s := &Sampler{interval: interval, stop: make(chan struct{}), hwmReset: ResetPeakRSS()}
	s.observe()
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.observe()
			}
		}
	}()
	return s
}

func (s *Sampler) observe() {
	g := runtime.NumGoroutine()
	rss, _, _ := ProcStatus(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peakGoroutines = max(s.peakGoroutines, g)
	s.peakRSS = max(s.peakRSS, rss)
}

// Stop ends sampling and returns the peaks. The sampler's own goroutine is
// not counted.
func (s *Sampler) Stop() Sample {
	s.observe()
	close(s.stop)
	s.done.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Sample{PeakGoroutines: s.peakGoroutines - 1, PeakRSS: s.peakRSS}
	if s.hwmReset {
		if _, hwm, err := ProcStatus(0); err == nil && hwm > 0 {
			out.PeakRSS, out.HWM = max(hwm, s.peakRSS), true
		}
	}
	return out
}

// Goroutines returns the goroutine count after letting exiting goroutines
// finish (up to wait), for before/after comparisons.
func Goroutines(wait time.Duration, target int) int {
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= target || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// MiB renders bytes as mebibytes.
func MiB(b uint64) float64 { return float64(b) / (1 << 20) }
