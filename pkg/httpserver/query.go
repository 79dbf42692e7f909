package httpserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxQuotedName bounds how much of a caller's parameter name goes back into an error.
const maxQuotedName = 32

// QueryError is a query string a handler refuses; its text is written for the client (it
// quotes at most the first few characters of the caller's parameter name), so a handler
// answers it with WriteError and status 400 as it is.
type QueryError struct {
	reason string
}

func (e *QueryError) Error() string { return e.reason }

// Query returns the request's query parameters, one value per name, and refuses any name not
// in known and any name given twice. Taking the first of two values silently, as
// url.Values.Get does, would let "n=3&n=4" mean whatever the handler happened to read; an
// unknown name is more often a typo the caller wants to hear about than a parameter to ignore.
func Query(r *http.Request, known ...string) (map[string]string, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &QueryError{reason: "malformed query string"}
	}
	out := make(map[string]string, len(values))
	for name, vs := range values {
		if !contains(known, name) {
			return nil, &QueryError{reason: fmt.Sprintf("unknown query parameter %q: want %s", quoted(name), knownList(known))}
		}
		if len(vs) > 1 {
			return nil, &QueryError{reason: fmt.Sprintf("query parameter %q given %d times: want it once", name, len(vs))}
		}
		out[name] = vs[0]
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// quoted cuts a caller's name short, so an error cannot echo a long string back.
func quoted(name string) string {
	if len(name) > maxQuotedName {
		return strings.ToValidUTF8(name[:maxQuotedName], "") + "..."
	}
	return name
}

func knownList(known []string) string {
	if len(known) == 0 {
		return "none"
	}
	return strings.Join(known, ", ")
}
