package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// Identity is the backend's answer: enough for a caller to tell the replicas apart.
type Identity struct {
	Service   string    `json:"service"`
	Pod       string    `json:"pod"`
	PodIP     string    `json:"pod_ip"`
	Namespace string    `json:"namespace"`
	Node      string    `json:"node"`
	Version   string    `json:"version"`
	Time      time.Time `json:"time"`
}

// handleIdentity answers every GET / with the pod's identity and the time it answered.
//
// Only the time changes from one answer to the next, so the rest is encoded once, by
// encoding/json, and each answer appends the time as time.Time's MarshalJSON writes it (RFC
// 3339 with nanoseconds, in UTC): the bytes are those of httpserver.WriteJSON(w, 200, answer),
// which TestIdentityEncoding checks, without encoding the same six strings by reflection on
// every request (a tenth of the backend's CPU time under load).
func handleIdentity(id Identity, now func() time.Time) http.Handler {
	prefix, err := identityPrefix(id)
	if err != nil {
		// Strings always encode; this would be a change to Identity that the tests catch.
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		body := make([]byte, 0, len(prefix)+len(`"2006-01-02T15:04:05.999999999Z"}`)+1)
		body = append(body, prefix...)
		body = append(body, '"')
		body = now().UTC().AppendFormat(body, time.RFC3339Nano)
		body = append(body, `"}`+"\n"...)
		httpserver.WriteJSONBody(w, http.StatusOK, body)
	})
}

// identityPrefix is the JSON of id up to its time's value: everything but the time, which
// is its last field.
func identityPrefix(id Identity) ([]byte, error) {
	id.Time = time.Time{}
	b, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	zero := []byte(`"0001-01-01T00:00:00Z"}`)
	if !bytes.HasSuffix(b, zero) {
		return nil, fmt.Errorf("identity JSON %s does not end with the time", b)
	}
	return b[:len(b)-len(zero)], nil
}
