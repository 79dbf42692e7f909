package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIdentityEncoding pins the answer's bytes to what encoding/json makes of the identity
// (httpserver.WriteJSON's answer before the identity was encoded once): field order, escaping
// and the time's form, with and without fractional seconds, in UTC whatever the clock's zone.
func TestIdentityEncoding(t *testing.T) {
	t.Parallel()
	ids := []Identity{
		{Service: "backend", Pod: "backend-7d9f-abcde", PodIP: "10.244.0.7", Namespace: "default", Node: "node-1", Version: "v1.2.3"},
		{Service: "backend", Pod: `a"b\c<d>&é` + "\u2028\x01", Version: "dev"},
		{},
	}
	zone := time.FixedZone("X", 5*3600)
	times := []time.Time{
		time.Date(2026, 11, 30, 9, 8, 7, 0, time.UTC),
		time.Date(2026, 11, 30, 9, 8, 7, 123456789, time.UTC),
		time.Date(2026, 11, 30, 9, 8, 7, 120000000, zone),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, id := range ids {
		for _, at := range times {
			want := id
			want.Time = at.UTC()
			wantBody, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			handleIdentity(id, func() time.Time { return at }).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			if got := w.Body.String(); got != string(wantBody)+"\n" {
				t.Errorf("GET / with %+v at %v =\n%s\nwant\n%s", id, at, got, wantBody)
			}
			if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || ct != "application/json" {
				t.Errorf("GET / = %d %s, want 200 application/json", w.Code, ct)
			}
		}
	}
}
