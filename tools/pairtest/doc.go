// Package pairtest holds the pair's integration tests and benchmarks: real backends and real
// frontends started in-process through their Run functions on loopback, with a DNS server
// (pkg/dnstest) and an OTLP receiver (pkg/otlptest) of their own, so nothing reaches beyond
// the machine. They live here, not in services/frontend, because they need the backend too,
// and the frontend's module requires only what the frontend serves with.
package pairtest
