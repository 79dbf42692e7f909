package faults

import (
	"errors"
	"io"
	"net/http"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// maxBody bounds a PUT /faults body: the admin port has no body limit of its own, and a
// whole Spec is under 200 bytes.
const maxBody = 4 << 10

// HandleGet answers GET /faults with the State.
func (in *Injector) HandleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, in.state())
	})
}

// HandlePut answers PUT /faults: its JSON body, a Spec, replaces the faults in force, and the
// answer is the new State. A body that does not parse or breaks a bound is a 400 with the
// reason, and changes nothing.
func (in *Injector) HandlePut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			httpserver.WriteError(w, http.StatusRequestEntityTooLarge, "body over 4 KiB: a Spec is a small JSON object")
			return
		case err != nil:
			httpserver.WriteError(w, http.StatusBadRequest, "could not read the body")
			return
		}
		spec, err := parseSpec(body)
		if err == nil {
			err = spec.check(in.writeTime)
		}
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		in.set(spec, r.RemoteAddr)
		httpserver.WriteJSON(w, http.StatusOK, in.state())
	})
}

// HandleDelete answers DELETE /faults: every fault is cleared, and the answer is the State.
func (in *Injector) HandleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.set(nil, r.RemoteAddr)
		httpserver.WriteJSON(w, http.StatusOK, in.state())
	})
}
