package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"time"

	"github.com/caarlos0/env/v11"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	levelType    = reflect.TypeFor[slog.Level]()
)

// parsedTypes are the types whose parsing Parse takes over through Options.FuncMap, so that a
// bad value is reported under its variable in plain words.
var parsedTypes = []reflect.Type{
	durationType, reflect.TypeFor[bool](),
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
	reflect.TypeFor[float32](), reflect.TypeFor[float64](),
}

// parsing remembers the variable env/v11 is setting. env/v11 calls Options.OnSet with the
// variable's name just before it calls the FuncMap parser of that variable's type, so a
// parser's error can name the variable exactly, whatever prefixes and field names repeat.
type parsing struct {
	key string
}

func (p *parsing) onSet(key string, _ any, _ bool) { p.key = key }

func (p *parsing) funcMap() map[reflect.Type]env.ParserFunc {
	m := make(map[reflect.Type]env.ParserFunc, len(parsedTypes))
	for _, t := range parsedTypes {
		m[t] = p.parser(t)
	}
	return m
}

// parser parses a value of type t as env/v11 would (but with the platform's int size), and
// returns a FieldError naming the variable when it cannot.
func (p *parsing) parser(t reflect.Type) env.ParserFunc {
	return func(s string) (any, error) {
		key := p.key
		p.key = "" // a field without a variable of its own must not inherit this one
		v := reflect.New(t).Elem()
		var err error
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			var n int64
			if t == durationType {
				var d time.Duration
				d, err = time.ParseDuration(s)
				n = int64(d)
			} else {
				n, err = strconv.ParseInt(s, 10, t.Bits())
			}
			v.SetInt(n)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			var n uint64
			n, err = strconv.ParseUint(s, 10, t.Bits())
			v.SetUint(n)
		case reflect.Float32, reflect.Float64:
			var f float64
			f, err = strconv.ParseFloat(s, t.Bits())
			v.SetFloat(f)
		case reflect.Bool:
			var b bool
			b, err = strconv.ParseBool(s)
			v.SetBool(b)
		}
		if err != nil {
			return nil, FieldError{Var: key, Msg: parseMessage(t, s, err)}
		}
		return v.Interface(), nil
	}
}

// envProblems turns env/v11's AggregateError into one FieldError per variable.
func envProblems(err error, idx *index, vars map[string]string) []FieldError {
	if err == nil {
		return nil
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []FieldError{{Msg: err.Error()}}
	}
	var problems []FieldError
	for _, e := range agg.Errors {
		var (
			parseErr env.ParseError
			notSet   env.VarIsNotSetError
			empty    env.EmptyVarError
			file     env.LoadFileContentError
		)
		switch {
		case errors.As(e, &parseErr):
			problems = append(problems, parseProblem(parseErr, idx, vars))
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

// parseProblem names the variable of a ParseError: exactly when one of parsers failed, by
// the field's name for the types env/v11 parses without FuncMap (an encoding.TextUnmarshaler
// such as slog.Level, url.URL).
func parseProblem(pe env.ParseError, idx *index, vars map[string]string) FieldError {
	var fe FieldError
	if errors.As(pe.Err, &fe) {
		if fe.Var == "" {
			fe.Var = pe.Name
		}
		return fe
	}
	f, ok := idx.byName(pe.Name, pe.Type, vars)
	if !ok {
		return FieldError{Var: pe.Name, Msg: pe.Err.Error()}
	}
	raw := vars[f.key]
	if raw == "" {
		raw = f.sf.Tag.Get("envDefault")
	}
	return FieldError{Var: f.key, Msg: parseMessage(pe.Type, raw, pe.Err)}
}

// parseMessage says in plain words what a value should have looked like.
func parseMessage(t reflect.Type, raw string, err error) string {
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
