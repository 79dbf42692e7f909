// Package config turns a process environment into a typed configuration struct and refuses
// bad values before a service starts listening.
//
// Parsing is done by github.com/caarlos0/env/v11 from struct tags (env, envPrefix, envDefault,
// required, notEmpty); this package adds what a service needs to fail fast with a useful
// message: every problem is reported at once, each under the full name of its variable
// (envPrefix included); integers and durations may carry `min:"N"` and `max:"N"` bounds
// (durations without a min tag may not be negative); and each struct may check rules that tie
// its fields together through Validator, naming fields by pointer so that a rule never needs
// to know the prefix it is read under. The environment is always passed in (never read from
// the process) so tests run in parallel with environments of their own.
package config

import (
	"reflect"

	"github.com/caarlos0/env/v11"
)

// Parse parses environ, a list of "KEY=value" strings as returned by os.Environ, into T with
// env/v11 and then checks it. T must be a struct (nested structs and envPrefix tags are
// followed). On any problem Parse returns the zero T and an error whose message is
// "invalid configuration:" followed by one line per problem, sorted by variable name, e.g.
//
//	invalid configuration:
//	  PORT: invalid integer "abc"
//	  SHUTDOWN_TIMEOUT: must be between 1ms and 5m, got -1s
//
// Each problem is also a FieldError reachable with errors.As.
//
// Parse reports, in one go: values env/v11 cannot parse or that a required or notEmpty tag
// refuses; values outside their min and max tags; and what Validate finds on T and on every
// nested struct that implements Validator. A rule about a variable that is already reported
// is left out, since it would judge a value the user did not write.
func Parse[T any](environ []string) (T, error) {
	var cfg T
	vars := env.ToMap(environ)
	idx, err := indexFields(&cfg)
	if err != nil {
		var zero T
		return zero, newInvalidError([]FieldError{{Msg: err.Error()}})
	}
	var p parsing
	err = env.ParseWithOptions(&cfg, env.Options{Environment: vars, OnSet: p.onSet, FuncMap: p.funcMap()})
	problems := envProblems(err, idx, vars)
	problems = append(problems, checkBounds(idx, varsOf(problems))...)
	problems = append(problems, validate(idx, varsOf(problems))...)
	if len(problems) > 0 {
		var zero T
		return zero, newInvalidError(problems)
	}
	return cfg, nil
}

// validate runs Validate on every struct of the configuration that has it, outermost first.
func validate(idx *index, failed map[string]bool) []FieldError {
	r := &Rules{idx: idx, failed: failed}
	for _, s := range idx.structs {
		if v, ok := s.Addr().Interface().(Validator); ok {
			v.Validate(r)
		}
	}
	return r.problems
}

// varsOf is the set of variables named by problems.
func varsOf(problems []FieldError) map[string]bool {
	vars := make(map[string]bool, len(problems))
	for _, p := range problems {
		vars[p.Var] = true
	}
	return vars
}

// deref follows a pointer field; ok is false for a nil one.
func deref(v reflect.Value) (reflect.Value, bool) {
	if v.Kind() != reflect.Pointer {
		return v, true
	}
	if v.IsNil() {
		return v, false
	}
	return v.Elem(), true
}
