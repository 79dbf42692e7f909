package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

func TestClientFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		header  http.Header
		want    clientView
		wantErr error
	}{
		{
			name: "no forwarded headers: the peer",
			want: clientView{IP: "192.0.2.7", IPFrom: ipFromPeer, Peer: "192.0.2.7:4711"},
		},
		{
			name: "one proxy",
			header: http.Header{"X-Forwarded-For": {"10.10.0.1"}, "X-Forwarded-Proto": {"https"},
				"X-Forwarded-Host": {"svc2svc.local"}},
			want: clientView{IP: "10.10.0.1", IPFrom: ipFromForwardedFor, Peer: "192.0.2.7:4711",
				ForwardedFor: []string{"10.10.0.1"}, ForwardedProto: "https", ForwardedHost: "svc2svc.local"},
		},
		{
			name:   "a chain, with ports, IPv6 and two lines: the nearest proxy's address is the client ip",
			header: http.Header{"X-Forwarded-For": {"203.0.113.9, [2001:db8::1]:443", "198.51.100.2:80"}},
			want: clientView{IP: "198.51.100.2", IPFrom: ipFromForwardedFor, Peer: "192.0.2.7:4711",
				ForwardedFor: []string{"203.0.113.9", "2001:db8::1", "198.51.100.2"}},
		},
		{
			name:   "proto in capitals, host with a port",
			header: http.Header{"X-Forwarded-Proto": {"HTTP"}, "X-Forwarded-Host": {"[::1]:8443"}},
			want: clientView{IP: "192.0.2.7", IPFrom: ipFromPeer, Peer: "192.0.2.7:4711",
				ForwardedProto: "http", ForwardedHost: "[::1]:8443"},
		},
		{name: "a name in X-Forwarded-For", header: http.Header{"X-Forwarded-For": {"evil.example"}}, wantErr: errForwardedFor},
		{name: "an empty entry", header: http.Header{"X-Forwarded-For": {"10.0.0.1,,10.0.0.2"}}, wantErr: errForwardedFor},
		{name: "an empty header", header: http.Header{"X-Forwarded-For": {""}}, wantErr: errForwardedFor},
		{name: "markup", header: http.Header{"X-Forwarded-For": {"<script>"}}, wantErr: errForwardedFor},
		{name: "17 addresses", header: http.Header{"X-Forwarded-For": {strings.Repeat("10.0.0.1,", 16) + "10.0.0.1"}}, wantErr: errForwardedLong},
		{name: "another proto", header: http.Header{"X-Forwarded-Proto": {"ftp"}}, wantErr: errForwardedProto},
		{name: "a proto list", header: http.Header{"X-Forwarded-Proto": {"https, http"}}, wantErr: errForwardedProto},
		{name: "two proto lines", header: http.Header{"X-Forwarded-Proto": {"https", "http"}}, wantErr: errForwardedProto},
		{name: "a host with a path", header: http.Header{"X-Forwarded-Host": {"svc2svc.local/x"}}, wantErr: errForwardedHost},
		{name: "a host with user info", header: http.Header{"X-Forwarded-Host": {"me@svc2svc.local"}}, wantErr: errForwardedHost},
		{name: "a host with a bad port", header: http.Header{"X-Forwarded-Host": {"svc2svc.local:https"}}, wantErr: errForwardedHost},
		{name: "two hosts", header: http.Header{"X-Forwarded-Host": {"a.local", "b.local"}}, wantErr: errForwardedHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "192.0.2.7:4711"
			r.Header = tt.header
			got, err := clientFrom(r)
			if err != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clientFrom(%v) = %+v, %v; want %+v, %v", tt.header, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// startFrontend runs a real frontend on loopback whose backend is a loopback server answering
// an identity, found through the Kubernetes variables (DNS skipped). It returns the frontend
// and the number of calls the backend got.
func startFrontend(t *testing.T) (*servicetest.Service, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"service":"backend","pod":"backend-1","time":"2026-01-02T03:04:05Z"}`)
	}))
	t.Cleanup(backend.Close)
	host, port, _ := net.SplitHostPort(backend.Listener.Addr().String())
	environ := []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "LOG_LEVEL=warn",
		"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=" + host, "BACKEND_SERVICE_SERVICE_PORT=" + port}
	fe := servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return Run(ctx, nil, environ, stdout, opts...)
	})
	return fe, &calls
}

// ingress starts a TLS-terminating reverse proxy on loopback in front of target, as an
// Ingress controller is: it sets X-Forwarded-For (appending to the client's, as a proxy that
// trusts its client does), -Proto and -Host.
func ingress(t *testing.T, target string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Header["X-Forwarded-For"] = r.In.Header["X-Forwarded-For"]
		r.SetXForwarded()
	}})
	t.Cleanup(proxy.Close)
	return proxy
}

// get sends GET url with the headers and returns the status and the body.
func get(t *testing.T, client *http.Client, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res.StatusCode, string(body)
}

// TestForwardedThroughProxy calls a real frontend through a real TLS-terminating proxy and
// directly, and checks what it says about its caller in each format.
func TestForwardedThroughProxy(t *testing.T) {
	t.Parallel()
	fe, _ := startFrontend(t)
	proxy := ingress(t, fe.URL)
	proxyHost := strings.TrimPrefix(proxy.URL, "https://")
	type client struct {
		IP             string   `json:"ip"`
		IPFrom         string   `json:"ip_from"`
		Peer           string   `json:"peer"`
		ForwardedFor   []string `json:"forwarded_for"`
		ForwardedProto string   `json:"forwarded_proto"`
		ForwardedHost  string   `json:"forwarded_host"`
	}
	tests := []struct {
		name   string
		client *http.Client
		url    string
		header http.Header
		want   client
	}{
		{
			name: "through the proxy", client: proxy.Client(), url: proxy.URL + "/",
			want: client{IP: "127.0.0.1", IPFrom: "x-forwarded-for", ForwardedFor: []string{"127.0.0.1"},
				ForwardedProto: "https", ForwardedHost: proxyHost},
		},
		{
			// The client's own X-Forwarded-For comes first; the proxy's view of the client last,
			// and that is the client ip.
			name: "through the proxy, claiming another address", client: proxy.Client(), url: proxy.URL + "/",
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}},
			want: client{IP: "127.0.0.1", IPFrom: "x-forwarded-for", ForwardedFor: []string{"203.0.113.9", "127.0.0.1"},
				ForwardedProto: "https", ForwardedHost: proxyHost},
		},
		{
			name: "directly", client: http.DefaultClient, url: fe.URL + "/",
			want: client{IP: "127.0.0.1", IPFrom: "peer"},
		},
		{
			// Nothing stops a direct caller from claiming anything well-formed: shown as told.
			name: "directly, claiming another address", client: http.DefaultClient, url: fe.URL + "/",
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}},
			want:   client{IP: "203.0.113.9", IPFrom: "x-forwarded-for", ForwardedFor: []string{"203.0.113.9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := tt.header.Clone()
			if header == nil {
				header = http.Header{}
			}
			header.Set("Accept", "application/json")
			status, body := get(t, tt.client, tt.url, header)
			var got struct {
				Backend struct {
					Pod string `json:"pod"`
				} `json:"backend"`
				Client client `json:"client"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
				t.Fatalf("GET %s = %d %s (%v), want 200 JSON", tt.url, status, body, err)
			}
			if got.Backend.Pod != "backend-1" {
				t.Errorf("GET %s: backend.pod = %q, want backend-1 (the call's fields unchanged)", tt.url, got.Backend.Pod)
			}
			if host, _, err := net.SplitHostPort(got.Client.Peer); err != nil || host != "127.0.0.1" {
				t.Errorf("GET %s: client.peer = %q, want 127.0.0.1:<port>", tt.url, got.Client.Peer)
			}
			got.Client.Peer = ""
			if !reflect.DeepEqual(got.Client, tt.want) {
				t.Errorf("GET %s: client = %+v, want %+v", tt.url, got.Client, tt.want)
			}
		})
	}

	t.Run("text and HTML label what they were told", func(t *testing.T) {
		t.Parallel()
		for accept, want := range map[string][]string{
			"text/plain": {"pod: backend-1\n", "client ip: 127.0.0.1 (as told by X-Forwarded-For, not verified)\n",
				"forwarded for: 203.0.113.9, 127.0.0.1\n", "forwarded proto: https\n", "forwarded host: " + proxyHost + "\n", "peer: 127.0.0.1:"},
			"text/html": {"<td>backend-1</td>", "<td>127.0.0.1 (as told by X-Forwarded-For, not verified)</td>",
				"<td>203.0.113.9, 127.0.0.1</td>", "<td>https</td>", "<td>" + proxyHost + "</td>"},
		} {
			status, body := get(t, proxy.Client(), proxy.URL+"/", http.Header{"Accept": {accept}, "X-Forwarded-For": {"203.0.113.9"}})
			for _, w := range want {
				if status != http.StatusOK || !strings.Contains(body, w) {
					t.Errorf("GET / (Accept %s) through the proxy = %d, want 200 with %q in:\n%s", accept, status, w, body)
				}
			}
		}
		status, body := get(t, http.DefaultClient, fe.URL+"/", nil)
		if want := "client ip: 127.0.0.1 (the connection's peer)\n"; status != http.StatusOK || !strings.Contains(body, want) ||
			strings.Contains(body, "forwarded") {
			t.Errorf("GET / directly = %d, want 200 with %q and no forwarded lines:\n%s", status, want, body)
		}
	})
}

// TestForwardedRefused: a malformed forwarded header is a 400 with the reason in JSON, in
// whatever format was asked for, and the backend is not called.
func TestForwardedRefused(t *testing.T) {
	t.Parallel()
	fe, calls := startFrontend(t)
	for _, header := range []http.Header{
		{"X-Forwarded-For": {"<b>me</b>"}},
		{"X-Forwarded-Proto": {"gopher"}},
		{"X-Forwarded-Host": {"a.local/path"}},
	} {
		header.Set("Accept", "text/html")
		status, body := get(t, http.DefaultClient, fe.URL+"/", header)
		var got struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusBadRequest ||
			got.Status != http.StatusBadRequest || !strings.Contains(got.Error, "X-Forwarded-") {
			t.Errorf("GET / with %v = %d %s, want a JSON 400 naming the header", header, status, body)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the backend got %d calls for refused requests, want 0", n)
	}
}
