package config

import (
	"slices"
	"strings"
)

// FieldError is a problem with one environment variable. It exists so that a caller can tell
// which variable to fix.
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

// Vars returns the variables named by err's FieldErrors, sorted and without repeats, so that
// a caller (a test, say) can tell which variables to fix without reading the message.
func Vars(err error) []string {
	var vars []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case FieldError:
			if e.Var != "" {
				vars = append(vars, e.Var)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(vars)
	return slices.Compact(vars)
}
