package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzNegotiate feeds arbitrary Accept headers to the format negotiation and to writeCall,
// which serves the answer: any header gets a 200 in one of the three formats, and a format
// other than text only when the header names its media type.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "application/json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"text/plain", "application/json; charset=utf-8", "bogus;;;, application/json", "APPLICATION/JSON",
		"text/html;q=0", "application/json;q=\"", ",,,,", "text/html; a=\"\\\"", "\xff\xfe", "application/*",
	} {
		f.Add(s)
	}
	types := map[format]string{formatText: "text/plain", formatJSON: "application/json", formatHTML: "text/html"}
	f.Fuzz(func(t *testing.T, accept string) {
		got := negotiate(accept)
		mediaType, ok := types[got]
		if !ok {
			t.Fatalf("negotiate(%q) = %v, want one of text, JSON, HTML", accept, got)
		}
		if got != formatText && !strings.Contains(strings.ToLower(accept), mediaType) {
			t.Errorf("negotiate(%q) = %s, but the header does not name it", accept, mediaType)
		}
		if first := negotiate("text/html, " + accept); first != formatHTML {
			t.Errorf("negotiate(%q) = %v, want HTML, which it names first", "text/html, "+accept, first)
		}

		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept"] = []string{accept}
		w := httptest.NewRecorder()
		writeCall(w, r, callView{Backend: identity{Pod: "backend-1"}})
		if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || !strings.HasPrefix(ct, mediaType) {
			t.Errorf("writeCall with Accept %q = %d %s, want 200 %s", accept, w.Code, ct, mediaType)
		}
	})
}
