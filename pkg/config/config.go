// Package config turns a process environment into a typed configuration struct and refuses
// bad values before a service starts listening.
//
// Parsing is done by github.com/caarlos0/env/v11 from struct tags; this package adds what it
// lacks for a service that must fail fast with a useful message: every problem is reported at
// once, each under the full name of its variable (envPrefix included), durations may not be
// negative, integers may carry `min:"N"` and `max:"N"` bounds, and cross-field rules run
// through Validator. The environment is always passed in (never read from the process) so
// tests run in parallel with environments of their own.
package config

import (
	"errors"
	"reflect"
	"slices"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configuration structs with rules that span several fields.
// Parse calls Validate on T and on every nested struct that implements it, so a reusable
// block (say httpserver.Config) checks itself wherever it is embedded.
type Validator interface {
	// Validate reports broken rules, as FieldError values joined with errors.Join. Var is
	// relative to the struct: Parse prepends the envPrefix under which it is nested.
	Validate() error
}

// FieldError is a problem with one environment variable. It exists so that Validate
// methods and Parse speak the same shape, and a caller can tell which variable to fix.
type FieldError struct {
	// Var is the full name of the environment variable, such as "CLIENT_TIMEOUT". It is
	// empty for problems that belong to no single variable.
	Var string
	// Msg says what is wrong, such as "must not be negative (-1s)".
	Msg string
}

// Error returns "Var: Msg", or Msg alone when no variable is named.
func (e FieldError) Error() string {
	if e.Var == "" {
		return e.Msg
	}
	return e.Var + ": " + e.Msg
}

// Parse parses environ, a list of "KEY=value" strings as returned by os.Environ, into T with
// env/v11 and then checks it. T must be a struct (nested structs and envPrefix tags are
// followed). On any problem Parse returns the zero T and an error whose message is
// "invalid configuration:" followed by one line per problem, sorted by variable name, e.g.
//
//	invalid configuration:
//	  PORT: invalid integer "abc"
//	  SHUTDOWN_TIMEOUT: must not be negative (-1s)
//
// Each problem is also a FieldError reachable with errors.As.
//
// Checks, besides what env/v11 parses: every time.Duration is >= 0; every integer tagged
// `min:"N"` or `max:"N"` is within bounds; then Validate on T and on each nested struct that
// implements Validator, except those holding a variable that already failed, whose rules would
// judge a zero value in place of what was written.
func Parse[T any](environ []string) (T, error) {
	vars := env.ToMap(environ)
	cfg, err := env.ParseAsWithOptions[T](env.Options{Environment: vars})

	w := walker{}
	if v := reflect.ValueOf(&cfg).Elem(); v.Kind() == reflect.Struct {
		w.walk(v, "")
	}
	var problems []FieldError
	if err != nil {
		problems = append(problems, envProblems(err, w.fields, vars)...)
	}
	problems = append(problems, checkFields(w.fields, varsOf(problems))...)
	problems = append(problems, validate(w.structs, w.fields, varsOf(problems))...)
	if len(problems) > 0 {
		var zero T
		return zero, newInvalidError(problems)
	}
	return cfg, nil
}

// validate calls Validate on every struct that has it, naming variables in full. A struct
// with a bad variable inside is skipped: its cross-field rules would judge a zero value in
// place of what the user wrote and blame the wrong variable.
func validate(structs []structAt, fields []field, bad map[string]bool) []FieldError {
	var problems []FieldError
	for _, s := range structs {
		v, ok := asValidator(s.value)
		if !ok || slices.ContainsFunc(fields[s.start:s.end], func(f field) bool { return bad[varName(f)] }) {
			continue
		}
		for _, err := range flatten(v.Validate()) {
			var fe FieldError
			if !errors.As(err, &fe) {
				problems = append(problems, FieldError{Msg: err.Error()})
				continue
			}
			if fe.Var != "" {
				fe.Var = s.prefix + fe.Var
			}
			problems = append(problems, fe)
		}
	}
	return problems
}

// varsOf is the set of variables named by problems.
func varsOf(problems []FieldError) map[string]bool {
	vars := make(map[string]bool, len(problems))
	for _, p := range problems {
		vars[p.Var] = true
	}
	return vars
}

// asValidator finds Validate with a value or a pointer receiver.
func asValidator(v reflect.Value) (Validator, bool) {
	if v.CanAddr() {
		if val, ok := v.Addr().Interface().(Validator); ok {
			return val, true
		}
	}
	val, ok := v.Interface().(Validator)
	return val, ok
}

// flatten undoes errors.Join (at any depth), so each joined FieldError is a line of its own.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
