package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	levelType    = reflect.TypeFor[slog.Level]()
)

// invalidError is what Parse returns: every problem, one line each, in a stable order.
type invalidError []FieldError

func newInvalidError(problems []FieldError) invalidError {
	slices.SortStableFunc(problems, func(a, b FieldError) int {
		// Problems without a variable go last: they are the least actionable.
		if (a.Var == "") != (b.Var == "") {
			if a.Var == "" {
				return 1
			}
			return -1
		}
		if c := strings.Compare(a.Var, b.Var); c != 0 {
			return c
		}
		return strings.Compare(a.Msg, b.Msg)
	})
	return slices.Compact(problems)
}

func (e invalidError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes each problem to errors.As.
func (e invalidError) Unwrap() []error {
	errs := make([]error, len(e))
	for i, p := range e {
		errs[i] = p
	}
	return errs
}

// envProblems names each of env/v11's errors after its variable.
func envProblems(err error, fields []field, vars map[string]string) []FieldError {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []FieldError{{Msg: err.Error()}}
	}
	var problems []FieldError
	next := 0
	for _, e := range agg.Errors {
		var (
			parseErr env.ParseError
			notSet   env.VarIsNotSetError
			empty    env.EmptyVarError
			file     env.LoadFileContentError
		)
		switch {
		case errors.As(e, &parseErr):
			i := matchField(fields, next, parseErr, vars)
			if i < 0 {
				problems = append(problems, FieldError{Var: parseErr.Name, Msg: parseErr.Err.Error()})
				continue
			}
			next = i + 1
			f := fields[i]
			problems = append(problems, FieldError{Var: varName(f), Msg: parseMessage(f, rawValue(f, vars), parseErr.Err)})
		case errors.As(e, &notSet):
			problems = append(problems, FieldError{Var: notSet.Key, Msg: "required but not set"})
		case errors.As(e, &empty):
			problems = append(problems, FieldError{Var: empty.Key, Msg: "must not be empty"})
		case errors.As(e, &file):
			problems = append(problems, FieldError{Var: file.Key, Msg: fmt.Sprintf("cannot read file %q: %v", file.Filename, file.Err)})
		default:
			problems = append(problems, FieldError{Msg: e.Error()})
		}
	}
	return problems
}

// matchField finds the leaf a ParseError is about. The error names only the Go field and
// type, which nested structs may share (Client.Timeout, Server.Timeout), so among the leaves
// with that name after the last match it takes the first whose value fails to parse again on
// its own. env/v11 reports errors in the order it visits leaves, which is walker's order.
func matchField(fields []field, from int, pe env.ParseError, vars map[string]string) int {
	same := func(f field) bool { return f.name == pe.Name && f.typ == pe.Type }
	for i := from; i < len(fields); i++ {
		if same(fields[i]) && failsAlone(fields[i], vars) {
			return i
		}
	}
	// Values that fail only in context (such as a `file` tag) fall back to the order alone.
	if i := slices.IndexFunc(fields[from:], same); i >= 0 {
		return from + i
	}
	return slices.IndexFunc(fields, same)
}

// failsAlone parses the leaf's raw value with env/v11 into a struct holding only that field.
func failsAlone(f field, vars map[string]string) bool {
	t := reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.typ, Tag: `env:"V"`}})
	err := env.ParseWithOptions(reflect.New(t).Interface(), env.Options{
		Environment: map[string]string{"V": rawValue(f, vars)},
	})
	return err != nil
}

// varName falls back to the Go field name for a leaf parsed from envDefault alone.
func varName(f field) string {
	if f.key == "" {
		return f.name
	}
	return f.key
}

// rawValue is the text env/v11 tried to parse: the variable, or envDefault when the variable
// is unset or empty.
func rawValue(f field, vars map[string]string) string {
	if v := vars[f.key]; v != "" {
		return v
	}
	return f.tag.Get("envDefault")
}

// parseMessage says in plain words what a value should have looked like.
func parseMessage(f field, raw string, err error) string {
	t := f.typ
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case levelType:
		return fmt.Sprintf("invalid log level %q (want debug, info, warn or error)", raw)
	case durationType:
		return fmt.Sprintf("invalid duration %q (want a number with a unit, such as 500ms or 5s)", raw)
	}
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Sprintf("%q is out of range for %s", raw, t.Kind())
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("invalid integer %q", raw)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("invalid non-negative integer %q", raw)
	case reflect.Bool:
		return fmt.Sprintf("invalid boolean %q (want true or false)", raw)
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("invalid number %q", raw)
	}
	return fmt.Sprintf("invalid value %q: %v", raw, err)
}
