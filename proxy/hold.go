package proxy

import (
	"container/heap"

	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// holding bounds what a fan-out holds of its answers in memory when its
// caller renders a reply of a known budget: the answers of the targets
// first in order, up to a number of bytes. The reply shows answers in
// target order (after shared ones), so those are the ones it needs; the
// others stay only in the result store, and a reply that shows one reads
// it back. Memory then does not grow with the width of the fan-out.
type holding struct {
	limit int
	bytes int
	held  maxIndexes
}

// holdFor is what a fan-out holds for a reply of budget bytes: room for
// the answers it could show even when several do not fit and are skipped.
func holdFor(budget int) int { return max(4*budget, 256<<10) }

// add holds brief entry i of entries, then releases the answers of the
// last targets held until the bound holds.
func (h *holding) add(entries []results.Entry, i int) {
	n := entries[i].HeldBytes()
	if n == 0 {
		return
	}
	heap.Push(&h.held, i)
	h.bytes += n
	for h.bytes > h.limit && h.held.Len() > 0 {
		j := heap.Pop(&h.held).(int)
		h.bytes -= entries[j].HeldBytes()
		entries[j] = entries[j].Release()
	}
}

// maxIndexes is a max-heap of target indices.
type maxIndexes []int

func (m maxIndexes) Len() int           { return len(m) }
func (m maxIndexes) Less(i, j int) bool { return m[i] > m[j] }
func (m maxIndexes) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *maxIndexes) Push(x any)        { *m = append(*m, x.(int)) }
func (m *maxIndexes) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}
