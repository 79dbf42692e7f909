// Package buildinfo holds facts about the binary that are only known when it is built, so that
// logs, traces and answers can say which build is running.
package buildinfo

// Version is the version of the running binary. It is the one package-level variable in this
// codebase on purpose: the linker sets it at build time with
//
//	go build -ldflags "-X github.com/svc2svc/svc2svc/pkg/buildinfo.Version=v1.2.3"
//
// and nothing writes it at run time. "dev" marks a build made without that flag.
var Version = "dev"
