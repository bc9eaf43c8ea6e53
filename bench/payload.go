package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/centralops/aws-mcp-multi-account/internal/fakeaws"
)

// payloadAnswer returns a fake upstream Override that answers every
// tools/call with a successful result whose text is an S3 bucket listing
// of about size bytes of JSON, the shape of a real aws___call_aws answer.
func payloadAnswer(size int) fakeaws.Override {
	var b strings.Builder
	b.WriteString(`{"Buckets":[`)
	for i := 0; b.Len() < size-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Name":"workload-data-%05d-us-east-1","CreationDate":"2025-03-%02dT10:00:00+00:00"}`, i, i%28+1)
	}
	b.WriteString(`],"Owner":{"DisplayName":"bench","ID":"0123456789abcdef"}}`)
	text, _ := json.Marshal(b.String())
	prefix := []byte(`{"jsonrpc":"2.0","id":`)
	suffix := []byte(`,"result":{"content":[{"type":"text","text":` + string(text) + `}],"isError":false}}`)
	return func(w http.ResponseWriter, r *http.Request, id json.RawMessage) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(prefix)
		w.Write(id)
		w.Write(suffix)
		return true
	}
}
