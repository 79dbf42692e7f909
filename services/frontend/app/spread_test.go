package app

import "testing"

func TestParseSpreadN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values  []string
		want    int
		wantErr bool
	}{
		{values: nil, want: defaultSpreadN},
		{values: []string{"1"}, want: 1},
		{values: []string{"1000"}, want: 1000},
		{values: []string{"0"}, wantErr: true},
		{values: []string{"1001"}, wantErr: true},
		{values: []string{"-1"}, wantErr: true},
		{values: []string{"abc"}, wantErr: true},
		{values: []string{""}, wantErr: true},
		{values: []string{"1", "2"}, wantErr: true},
		{values: []string{"99999999999999999999"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSpreadN(tt.values)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseSpreadN(%q) = %d, %v; want %d, error %v", tt.values, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzSpreadN checks that any query value either parses into the allowed range or is refused.
func FuzzSpreadN(f *testing.F) {
	for _, s := range []string{"30", "0", "1000", "1001", "-1", "abc", "", "+5", "0x10", " 7", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSpreadN([]string{s})
		if err == nil && (n < 1 || n > maxSpreadN) {
			t.Errorf("parseSpreadN(%q) = %d, nil; want a value in [1, %d] or an error", s, n, maxSpreadN)
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
