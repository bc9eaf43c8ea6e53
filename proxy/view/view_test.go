package view

import (
	"regexp"
	"strings"
	"testing"
)

// TestViewIsSelfContained: one HTML document of at most 1 MiB that loads
// nothing: no external script, style, image or frame (hosts' default CSP
// forbids them), its script inline. The browser test
// (e2e/TestAppViewInABrowser) checks that no request leaves it.
func TestViewIsSelfContained(t *testing.T) {
	if len(HTML) > MaxBytes {
		t.Errorf("the view is %d bytes, over %d", len(HTML), MaxBytes)
	}
	if !strings.HasPrefix(HTML, "<!doctype html>") || !strings.Contains(HTML, "<script>") {
		t.Fatalf("not the built view (run npm run build in ui/): %.80s", HTML)
	}
	external := regexp.MustCompile(`(?i)<(script|link|img|iframe)[^>]*\s(src|href)\s*=`)
	if m := external.FindString(HTML); m != "" {
		t.Errorf("the view loads something: %s", m)
	}
}
