package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// field is one leaf of the configuration: a struct field env/v11 sets from one variable.
type field struct {
	key   string // full variable name, envPrefix included, as env/v11 reports it
	sf    reflect.StructField
	value reflect.Value // addressable, inside the configuration being parsed
}

// addr identifies a field by where it lives; the type tells a struct from its first field.
type addr struct {
	ptr uintptr
	typ reflect.Type
}

// index links each variable to its struct field. env/v11 does all the parsing, but its hooks
// never name both: OnSet and GetFieldParams give a variable without its field, ParseError a
// field's Go name without its variable. Bounds tags, rules that point at fields and the rare
// parse error that bypasses Options.FuncMap need the link, so a short walk collects the leaves
// in the order env/v11 visits them and takes their variable names from
// env.GetFieldParamsWithOptions, which applies env/v11's own prefix rules.
type index struct {
	fields  []field
	byAddr  map[addr]*field
	structs []reflect.Value // every struct, outermost first, for Validator
}

// indexFields indexes *cfg, which must not move afterwards. A cfg that is not a struct gets an
// empty index; env/v11 reports it.
func indexFields(cfg any) (*index, error) {
	idx := &index{byAddr: map[addr]*field{}}
	v := reflect.ValueOf(cfg).Elem()
	if v.Kind() != reflect.Struct {
		return idx, nil
	}
	var keyed []int // positions in idx.fields of the leaves with a variable of their own
	idx.walk(v, &keyed)
	params, err := env.GetFieldParamsWithOptions(cfg, env.Options{Environment: map[string]string{}})
	if err != nil {
		return idx, nil // env/v11 reports the same error (such as an unknown tag option)
	}
	if len(params) != len(keyed) {
		return nil, fmt.Errorf("config: %d variables in %T, env/v11 sees %d", len(keyed), cfg, len(params))
	}
	for i, p := range params {
		idx.fields[keyed[i]].key = p.Key
	}
	for i := range idx.fields {
		f := &idx.fields[i]
		idx.byAddr[addr{f.value.Addr().Pointer(), f.sf.Type}] = f
	}
	return idx, nil
}

// walk follows env/v11's rules: unexported fields are skipped, non-nil pointers to structs and
// unnamed structs are entered without being leaves, a field tagged env:"-" is ignored, and a
// named struct is a leaf whose own fields are leaves too.
func (idx *index) walk(v reflect.Value, keyed *[]int) {
	idx.structs = append(idx.structs, v)
	t := v.Type()
	for i := range t.NumField() {
		sf, fv := t.Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		switch {
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			idx.walk(fv.Elem(), keyed)
			continue
		case fv.Kind() == reflect.Struct && sf.Type.Name() == "":
			idx.walk(fv, keyed)
			continue
		}
		ownKey, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if ownKey == "-" {
			continue
		}
		if ownKey != "" {
			*keyed = append(*keyed, len(idx.fields))
		}
		idx.fields = append(idx.fields, field{sf: sf, value: fv})
		if fv.Kind() == reflect.Struct {
			idx.walk(fv, keyed)
		}
	}
}

// lookup finds the field p points to; ok is false for anything else.
func (idx *index) lookup(p any) (*field, bool) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	f, ok := idx.byAddr[addr{v.Pointer(), v.Type().Elem()}]
	return f, ok
}

// byName finds the variable of a ParseError, which names only the Go field and its type. Two
// prefixes may share both (CLIENT_LEVEL and SERVER_LEVEL): the first one set wins then.
func (idx *index) byName(name string, typ reflect.Type, vars map[string]string) (*field, bool) {
	var found *field
	for i := range idx.fields {
		f := &idx.fields[i]
		if f.sf.Name != name || f.sf.Type != typ || f.key == "" {
			continue
		}
		if vars[f.key] != "" {
			return f, true
		}
		if found == nil {
			found = f
		}
	}
	return found, found != nil
}
