package tlsdir

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"testing"
)

// TestSerialAsOpenSSL pins the serial's format to openssl's (two hex digits a byte), which the
// e2e compares the "tls files reloaded" log line with.
func TestSerialAsOpenSSL(t *testing.T) {
	for n, want := range map[int64]string{0xF348: "F348", 0xF34: "0F34", 0x1: "01", 0xABCDEF: "ABCDEF"} {
		f := &files{cert: &tls.Certificate{Leaf: &x509.Certificate{SerialNumber: big.NewInt(n)}}}
		if got := f.serial(); got != want {
			t.Errorf("serial of %#x = %q, want %q", n, got, want)
		}
	}
	if got := (&files{}).serial(); got != "" {
		t.Errorf("serial without a certificate = %q, want empty", got)
	}
}
