package app

import "testing"

func TestParseSpreadN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		ok      bool
		maxN    int
		want    int
		wantErr bool
	}{
		{ok: false, maxN: 100, want: defaultSpreadN},
		{ok: false, maxN: 10, want: 10}, // the default never exceeds the cap
		{value: "1", ok: true, maxN: 100, want: 1},
		{value: "100", ok: true, maxN: 100, want: 100},
		{value: "101", ok: true, maxN: 100, wantErr: true},
		{value: "1000", ok: true, maxN: 1000, want: 1000},
		{value: "0", ok: true, maxN: 100, wantErr: true},
		{value: "-1", ok: true, maxN: 100, wantErr: true},
		{value: "abc", ok: true, maxN: 100, wantErr: true},
		{value: "", ok: true, maxN: 100, wantErr: true},
		{value: "99999999999999999999", ok: true, maxN: 100, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSpreadN(tt.value, tt.ok, tt.maxN)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseSpreadN(%q, %v, %d) = %d, %v; want %d, error %v", tt.value, tt.ok, tt.maxN, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseKeepAlive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		ok      bool
		want    bool
		wantErr bool
	}{
		{ok: false, want: false},
		{value: "0", ok: true, want: false},
		{value: "1", ok: true, want: true},
		{value: "", ok: true, wantErr: true},
		{value: "yes", ok: true, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseKeepAlive(tt.value, tt.ok)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseKeepAlive(%q, %v) = %v, %v; want %v, error %v", tt.value, tt.ok, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzSpreadN checks that any query value either parses into the allowed range or is refused.
func FuzzSpreadN(f *testing.F) {
	const maxN = 100
	for _, s := range []string{"30", "0", "100", "101", "1000", "-1", "abc", "", "+5", "0x10", " 7", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSpreadN(s, true, maxN)
		if err == nil && (n < 1 || n > maxN) {
			t.Errorf("parseSpreadN(%q) = %d, nil; want a value in [1, %d] or an error", s, n, maxN)
		}
	})
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept string
		want   format
	}{
		{"", formatText},
		{"*/*", formatText},
		{"application/json", formatJSON},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", formatHTML},
		{"text/plain", formatText},
		{"application/json; charset=utf-8", formatJSON},
		{"bogus;;;, application/json", formatJSON},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept); got != tt.want {
			t.Errorf("negotiate(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
