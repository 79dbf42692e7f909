package endpointslices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"
)

// Limits on what is read from the API server: its answers are outside input, and a slice
// holds at most 1000 endpoints, so these leave ample room.
const (
	maxListBytes  = 8 << 20
	maxEventBytes = 2 << 20
	maxErrorBytes = 4 << 10
)

const (
	// listTimeout bounds a list, the one request that must finish.
	listTimeout = 10 * time.Second
	// watchSeconds is how long the API server keeps a watch open, plus up to
	// watchJitter so that many replicas do not reconnect in step; watchGrace is how
	// much longer the client waits before giving up on a server that said nothing.
	watchSeconds = 300
	watchJitter  = 30
	watchGrace   = 30 * time.Second
	// The wait between failed attempts doubles from backoffBase up to backoffMax, so an
	// API server that comes back is seen quickly and one that stays down is not hammered.
	backoffBase   = 100 * time.Millisecond
	backoffMax    = 5 * time.Second
	jitterPercent = 20
)

// errGone is the API server saying the resourceVersion to watch from is too old (410):
// the events since are lost, so only a new list tells the current state.
var errGone = errors.New("resource version expired")

// errTooLarge means the server sent more than the limits above allow.
var errTooLarge = errors.New("response too large")

// Run lists the Service's EndpointSlices and then watches them until ctx ends, when it
// returns nil. It deals with failures itself, since the only fix is to try again: a watch
// that ends is renewed from the last resourceVersion, one that expired (410 Gone) starts
// again with a list, and any other failure is logged and retried after a capped, jittered,
// exponential backoff. It returns an error at once only for a Config or API it cannot use,
// or when called a second time.
func (w *Watcher) Run(ctx context.Context) error {
	switch {
	case w.cfg.Service == "" || w.cfg.Namespace == "":
		return errors.New("endpointslices: Config needs Service and Namespace")
	case w.api.BaseURL == "" || w.api.Client == nil:
		return errors.New("endpointslices: API needs BaseURL and Client")
	case !w.running.CompareAndSwap(false, true):
		return errors.New("endpointslices: Run called twice")
	}
	b := newBackoff()
	rv := "" // the resourceVersion to watch from; "" means list first
	for {
		var err error
		events := 0
		listing := rv == ""
		if listing {
			rv, err = w.list(ctx)
		} else {
			rv, events, err = w.watch(ctx, rv)
		}
		if ctx.Err() != nil {
			return nil
		}
		if events > 0 {
			b = newBackoff() // the stream worked, whatever ended it
		}
		// Going on at once is right after a list, or after a watch that delivered events.
		// A watch that ends without any (or expires at once) waits as after a failure, so
		// a server that closes or expires every watch is not hammered with lists; it gets
		// no warning, since a quiet Service looks the same.
		var wait time.Duration
		switch {
		case errors.Is(err, errGone):
			w.log.Info("endpointslices expired, listing again")
			rv = ""
			if events == 0 {
				wait = next(b)
			}
		case err != nil:
			// A failed watch keeps rv: if it expired meanwhile, the next watch says so.
			wait = next(b)
			if w.obs != nil {
				w.obs.ObserveFailure(w.cfg.Service)
			}
			w.log.Warn("endpointslices request failed",
				slog.String("error", err.Error()), slog.Int64("retry_in_ms", wait.Milliseconds()))
		case !listing && events == 0:
			wait = next(b)
		}
		if wait > 0 && !sleep(ctx, wait) {
			return nil
		}
	}
}

func newBackoff() retry.Backoff {
	b := retry.NewExponential(backoffBase)
	b = retry.WithCappedDuration(backoffMax, b)
	return retry.WithJitterPercent(jitterPercent, b)
}

func next(b retry.Backoff) time.Duration {
	d, _ := b.Next()
	return d
}

// sleep waits for d and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// list replaces every slice with what the API server has now and returns its
// resourceVersion, the point to watch from.
func (w *Watcher) list(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	resp, err := w.get(ctx, url.Values{})
	if err != nil {
		return "", fmt.Errorf("list endpointslices: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	if err != nil {
		return "", fmt.Errorf("list endpointslices: %w", err)
	}
	if len(body) > maxListBytes {
		return "", fmt.Errorf("list endpointslices: %w: over %d bytes", errTooLarge, maxListBytes)
	}
	var l sliceList
	if err := json.Unmarshal(body, &l); err != nil {
		return "", fmt.Errorf("list endpointslices: %w", err)
	}
	if l.Metadata.ResourceVersion == "" {
		return "", errors.New("list endpointslices: no resourceVersion")
	}
	clear(w.bySlice)
	for i := range l.Items {
		w.bySlice[l.Items[i].Metadata.Name] = w.cfg.addrs(&l.Items[i])
	}
	w.publish()
	return l.Metadata.ResourceVersion, nil
}

// watch applies the changes after resourceVersion rv until the stream ends, and returns
// the resourceVersion reached and how many events came.
func (w *Watcher) watch(ctx context.Context, rv string) (string, int, error) {
	seconds := watchSeconds + rand.IntN(watchJitter+1)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+watchGrace)
	defer cancel()
	resp, err := w.get(ctx, url.Values{
		"watch":               {"1"},
		"resourceVersion":     {rv},
		"allowWatchBookmarks": {"true"},
		"timeoutSeconds":      {strconv.Itoa(seconds)},
	})
	if err != nil {
		return rv, 0, fmt.Errorf("watch endpointslices: %w", err)
	}
	defer resp.Body.Close()
	rv, events, err := w.stream(resp.Body, rv)
	if err != nil {
		return rv, events, fmt.Errorf("watch endpointslices: %w", err)
	}
	return rv, events, nil
}

// stream applies the watch events read from r, starting at resourceVersion rv. A clean end
// of r is a nil error: the server ends every watch after timeoutSeconds.
func (w *Watcher) stream(r io.Reader, rv string) (string, int, error) {
	budget := &limitReader{r: r}
	dec := json.NewDecoder(budget)
	for events := 0; ; events++ {
		budget.n = maxEventBytes
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			return rv, events, nil
		} else if err != nil {
			return rv, events, fmt.Errorf("decode event: %w", err)
		}
		var obj endpointSlice
		if ev.Type != "ERROR" {
			if err := json.Unmarshal(ev.Object, &obj); err != nil {
				return rv, events, fmt.Errorf("decode %s event: %w", ev.Type, err)
			}
		}
		switch ev.Type {
		case "ADDED", "MODIFIED":
			w.bySlice[obj.Metadata.Name] = w.cfg.addrs(&obj)
			w.publish()
		case "DELETED":
			delete(w.bySlice, obj.Metadata.Name)
			w.publish()
		case "BOOKMARK":
			// Only a newer resourceVersion: a bookmark is how the server keeps it fresh.
		case "ERROR":
			var st status
			_ = json.Unmarshal(ev.Object, &st) // an undecodable status is still an error
			if st.Code == http.StatusGone {
				return rv, events, fmt.Errorf("%w: %s", errGone, st.Message)
			}
			return rv, events, fmt.Errorf("error event %d %s: %s", st.Code, st.Reason, st.Message)
		default:
			return rv, events, fmt.Errorf("unknown event type %q", ev.Type)
		}
		if obj.Metadata.ResourceVersion != "" {
			rv = obj.Metadata.ResourceVersion
		}
	}
}

// get sends a GET for the Service's EndpointSlices with the query q, and returns the
// response when its status is 200.
func (w *Watcher) get(ctx context.Context, q url.Values) (*http.Response, error) {
	q.Set("labelSelector", "kubernetes.io/service-name="+w.cfg.Service)
	u := strings.TrimSuffix(w.api.BaseURL, "/") + "/apis/discovery.k8s.io/v1/namespaces/" +
		url.PathEscape(w.cfg.Namespace) + "/endpointslices?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if w.api.Token != nil {
		token, err := w.api.Token()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.api.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var st status
	if b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes)); err == nil {
		_ = json.Unmarshal(b, &st) // not every proxy in between answers with a Status
	}
	switch resp.StatusCode {
	case http.StatusGone:
		return nil, fmt.Errorf("%w: %s", errGone, st.Message)
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("unauthorized (401): the api server rejected the service account token: %s", st.Message)
	case http.StatusForbidden:
		return nil, fmt.Errorf("forbidden (403): the service account needs RBAC get, list and watch on endpointslices (discovery.k8s.io) in namespace %s: %s",
			w.cfg.Namespace, st.Message)
	}
	return nil, fmt.Errorf("status %d: %s", resp.StatusCode, st.Message)
}

// limitReader reads from r until n bytes have been read, then fails: stream resets n for
// each event, which bounds the memory the decoder needs for any one event.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: event over %d bytes", errTooLarge, maxEventBytes)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
