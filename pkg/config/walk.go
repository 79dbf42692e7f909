package config

import (
	"reflect"
	"strings"
)

// field is one leaf of the configuration struct, in the order env/v11 visits it.
type field struct {
	name  string // Go field name, which is all that env/v11's ParseError names
	typ   reflect.Type
	key   string // full variable name, envPrefix included; "" for a field without env tag
	tag   reflect.StructTag
	value reflect.Value
}

// structAt is a (nested) struct, the envPrefix its variables are read under, and the range
// of walker.fields that lie inside it.
type structAt struct {
	prefix     string
	value      reflect.Value
	start, end int
}

// walker collects the leaves and structs of a configuration, following the same rules as
// env/v11 so that a leaf's position matches the position of its parse error.
type walker struct {
	fields  []field
	structs []structAt
}

func (w *walker) walk(v reflect.Value, prefix string) {
	self := len(w.structs)
	w.structs = append(w.structs, structAt{prefix: prefix, value: v, start: len(w.fields)})
	defer func() { w.structs[self].end = len(w.fields) }()
	t := v.Type()
	for i := range t.NumField() {
		sf, fv := t.Field(i), v.Field(i)
		if !sf.IsExported() {
			continue // env/v11 cannot set it either
		}
		childPrefix := prefix + sf.Tag.Get("envPrefix")
		switch {
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			w.walk(fv.Elem(), childPrefix)
			continue
		case fv.Kind() == reflect.Struct && sf.Type.Name() == "":
			w.walk(fv, childPrefix)
			continue
		}
		ownKey, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if ownKey == "-" {
			continue
		}
		key := ""
		if ownKey != "" {
			key = prefix + ownKey
		}
		w.fields = append(w.fields, field{name: sf.Name, typ: sf.Type, key: key, tag: sf.Tag, value: fv})
		if fv.Kind() == reflect.Struct {
			w.walk(fv, childPrefix)
		}
	}
}
