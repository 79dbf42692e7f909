package config

import (
	"fmt"
	"reflect"
)

// Validator is implemented by a configuration struct with rules that tie its fields together.
// Parse calls Validate on the struct it parses and on every nested struct that implements
// it, so a reusable block (say httpserver.Config) checks itself wherever it is embedded and
// under whatever envPrefix. Validate needs a pointer receiver: its rules name fields by
// pointer, and a copy's fields are not the configuration's.
type Validator interface {
	// Validate reports each broken rule with Rules.Fail.
	Validate(r *Rules)
}

// Rules collects the broken rules of a configuration during Parse. Rules name fields, not
// variables: Rules knows the full variable name of every field, prefix included, so the
// package that owns a struct need not know where it is embedded.
type Rules struct {
	idx      *index
	failed   map[string]bool
	problems []FieldError
}

// Fail reports that the field field points to breaks a rule. The message is
// fmt.Sprintf(format, args...), except that an argument pointing to a field of the
// configuration stands for that field and prints as its variable and value, such as
// "CLIENT_TIMEOUT (3s)". The problem is left out when field, or a field among args, is
// already reported (it did not parse or is out of bounds): the rule would judge a value the
// user did not write.
//
//	if c.AttemptTimeout > c.Timeout {
//		r.Fail(&c.AttemptTimeout, "must not exceed %s, got %v", &c.Timeout, c.AttemptTimeout)
//	}
func (r *Rules) Fail(field any, format string, args ...any) {
	f, ok := r.idx.lookup(field)
	if ok && r.failed[f.key] {
		return
	}
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
		other, isField := r.idx.lookup(a)
		if !isField {
			continue
		}
		if r.failed[other.key] {
			return
		}
		out[i] = fmt.Sprintf("%s (%v)", other.key, reflect.ValueOf(a).Elem().Interface())
	}
	msg := fmt.Sprintf(format, out...)
	if !ok {
		// A bug in a Validate method, reported rather than dropped so that it gets fixed.
		msg = fmt.Sprintf("%s (a rule names a %T outside the configuration: does Validate have a pointer receiver?)", msg, field)
		r.problems = append(r.problems, FieldError{Msg: msg})
		return
	}
	r.problems = append(r.problems, FieldError{Var: f.key, Msg: msg})
}
