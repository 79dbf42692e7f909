package config

import (
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// checkBounds applies the min and max tags, which env/v11 has no equivalent for, to every
// field that parsed. A duration without a min tag may not be negative: no knob of a service
// means anything below zero unless it says so.
func checkBounds(idx *index, failed map[string]bool) []FieldError {
	var problems []FieldError
	for _, f := range idx.fields {
		if f.key == "" || failed[f.key] {
			continue
		}
		if msg := checkField(f); msg != "" {
			problems = append(problems, FieldError{Var: f.key, Msg: msg})
		}
	}
	return problems
}

// checkField returns what is wrong with one value, or "".
func checkField(f field) string {
	v, ok := deref(f.value)
	if !ok {
		return ""
	}
	minTag, hasMin := f.sf.Tag.Lookup("min")
	maxTag, hasMax := f.sf.Tag.Lookup("max")
	if v.Type() == durationType {
		if !hasMin {
			minTag, hasMin = "0", true
			if d := time.Duration(v.Int()); d < 0 && !hasMax {
				return fmt.Sprintf("must not be negative (%v)", d)
			}
		}
		return checkRange(bounds{minTag, hasMin, maxTag, hasMax}, time.Duration(v.Int()), parseDuration)
	}
	if !hasMin && !hasMax {
		return ""
	}
	b := bounds{minTag, hasMin, maxTag, hasMax}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return checkRange(b, v.Int(), func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return checkRange(b, v.Uint(), func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
	}
	return fmt.Sprintf("min/max tags need an integer or duration field, not %s", v.Type())
}

// bounds are a field's min and max tags as written.
type bounds struct {
	min    string
	hasMin bool
	max    string
	hasMax bool
}

// parseDuration parses a duration tag; "0" needs no unit, as in time.ParseDuration.
func parseDuration(s string) (time.Duration, error) { return time.ParseDuration(s) }

// checkRange checks n against b. A tag that does not parse is a bug in the struct, reported
// like a bad value so that it cannot go unnoticed. Bounds are quoted as written ("5m", not
// "5m0s"), which is how the reader of the struct knows them.
func checkRange[N int64 | uint64 | time.Duration](b bounds, n N, parse func(string) (N, error)) string {
	lo, hi := n, n
	var err error
	if b.hasMin {
		if lo, err = parse(b.min); err != nil {
			return fmt.Sprintf("invalid min tag %q", b.min)
		}
	}
	if b.hasMax {
		if hi, err = parse(b.max); err != nil {
			return fmt.Sprintf("invalid max tag %q", b.max)
		}
	}
	switch {
	case n >= lo && n <= hi:
		return ""
	case b.hasMin && b.hasMax:
		return fmt.Sprintf("must be between %s and %s, got %v", b.min, b.max, n)
	case b.hasMin:
		return fmt.Sprintf("must be at least %s, got %v", b.min, n)
	default:
		return fmt.Sprintf("must be at most %s, got %v", b.max, n)
	}
}
