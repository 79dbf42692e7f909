package config

import (
	"fmt"
	"reflect"
	"strconv"
)

// checkFields applies the rules env/v11 has no tags for to every leaf that parsed.
func checkFields(fields []field, bad map[string]bool) []FieldError {
	var problems []FieldError
	for _, f := range fields {
		if f.key == "" || bad[f.key] {
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
	v := f.value
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Type() == durationType && v.Int() < 0 {
		return fmt.Sprintf("must not be negative (%v)", v.Interface())
	}
	minTag, hasMin := f.tag.Lookup("min")
	maxTag, hasMax := f.tag.Lookup("max")
	if !hasMin && !hasMax {
		return ""
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return checkRange(v.Int(), minTag, hasMin, maxTag, hasMax, strconv.ParseInt)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return checkRange(v.Uint(), minTag, hasMin, maxTag, hasMax, strconv.ParseUint)
	}
	return fmt.Sprintf("min/max tags need an integer field, not %s", v.Type())
}

// checkRange checks n against the bounds of the min and max tags. A tag that is not a number
// is a bug in the struct, reported like a bad value so that it cannot go unnoticed.
func checkRange[N int64 | uint64](n N, minTag string, hasMin bool, maxTag string, hasMax bool,
	parse func(s string, base, bitSize int) (N, error)) string {
	lo, hi := n, n
	var err error
	if hasMin {
		if lo, err = parse(minTag, 10, 64); err != nil {
			return fmt.Sprintf("invalid min tag %q", minTag)
		}
	}
	if hasMax {
		if hi, err = parse(maxTag, 10, 64); err != nil {
			return fmt.Sprintf("invalid max tag %q", maxTag)
		}
	}
	switch {
	case n >= lo && n <= hi:
		return ""
	case hasMin && hasMax:
		return fmt.Sprintf("must be between %d and %d, got %d", lo, hi, n)
	case hasMin:
		return fmt.Sprintf("must be at least %d, got %d", lo, n)
	default:
		return fmt.Sprintf("must be at most %d, got %d", hi, n)
	}
}
