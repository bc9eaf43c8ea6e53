package proxy

import (
	"github.com/centralops/aws-mcp-multi-account/proxy/results"
)

// resultWriter keeps one result in the store for get_result: created with
// every target pending, each answer put as it arrives, finished with the
// summary. The store is a convenience, never a reason to fail a call: what
// it cannot keep is logged (and said in the answer by the caller). The
// zero writer keeps nothing (no store, or a result it could not create).
type resultWriter struct {
	s     *Service
	owner string
	id    string
}

// newResult creates the stored result of a (what stands before any
// answer) for owner; what says whose answers they are, in the log.
func (s *Service) newResult(owner string, a *results.Answer, what ...any) resultWriter {
	if s.store == nil {
		return resultWriter{}
	}
	id, err := s.store.Create(s.life, owner, a)
	if err != nil {
		s.log.Warn("cannot keep the answers", append(what, "error", err)...)
		return resultWriter{}
	}
	return resultWriter{s: s, owner: owner, id: id}
}

// put keeps target i's answer and reports whether the store kept it.
func (w resultWriter) put(i int, e results.Entry) bool {
	if w.id == "" {
		return false
	}
	if err := w.s.store.Put(w.s.life, w.owner, w.id, i, e); err != nil {
		w.s.log.Debug("cannot keep an answer", "result_id", w.id, "account", e.AccountID, "error", err)
		return false
	}
	return true
}

// finish records the final summary.
func (w resultWriter) finish(sum results.Summary) {
	if w.id == "" {
		return
	}
	if err := w.s.store.Finish(w.s.life, w.owner, w.id, sum); err != nil {
		w.s.log.Debug("cannot finish the stored result", "result_id", w.id, "error", err)
	}
}
