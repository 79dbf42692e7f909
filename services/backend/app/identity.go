package app

import (
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
func handleIdentity(id Identity, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		answer := id
		answer.Time = now().UTC()
		httpserver.WriteJSON(w, http.StatusOK, answer)
	})
}
