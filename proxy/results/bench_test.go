package results

import (
	"context"
	"testing"
)

func BenchmarkReproject300(b *testing.B) {
	a := instancesAnswer(300, noFailures)
	for i := range a.Results {
		a.Results[i] = a.Results[i].WithText() // as the fan-out keeps them
	}
	m := NewMemory(0, 0)
	defer m.Close()
	id, _ := m.Create(context.Background(), "", a)
	p, _ := Compile("length(Reservations[].Instances[])")
	b.ResetTimer()
	for b.Loop() {
		rec, _ := m.Get(context.Background(), "", id, true)
		out := rec.Answer
		out.Results = append([]Entry(nil), rec.Answer.Results...)
		p.Entries(out.Results)
		Render(&out, RenderOptions{Budget: DefaultBudget, ResultID: id})
	}
}
