package site

import (
	"reflect"
	"strings"
	"time"

	"github.com/candour/candour/indicators"
)

// The OpenAPI document's response schemas are written from the Go types
// the handlers answer with (schemaOf), so the document cannot drift from
// the answers; the few answers built as maps have their shape here, beside
// the types they hold.

// schemaOf is the JSON Schema (OpenAPI 3.0 flavour) of what encoding/json
// writes for a value of v's type.
func schemaOf(v any) map[string]any { return schemaOfType(reflect.TypeOf(v)) }

var timeType = reflect.TypeOf(time.Time{})

func schemaOfType(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		s := schemaOfType(t.Elem())
		s["nullable"] = true
		return s
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOfType(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": schemaOfType(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOfType(t.Elem())}
	case reflect.Interface:
		return map[string]any{"nullable": true} // any JSON value
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				inner := schemaOfType(f.Type)
				for k, v := range inner["properties"].(map[string]any) {
					props[k] = v
				}
				if r, ok := inner["required"].([]string); ok {
					required = append(required, r...)
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOfType(f.Type)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

// page is the schema of a paged list of items.
func pageSchema(item any) map[string]any {
	return map[string]any{"type": "object", "required": []string{"total", "limit", "offset", "items"}, "additionalProperties": false,
		"properties": map[string]any{"total": map[string]any{"type": "integer", "minimum": 0}, "limit": map[string]any{"type": "integer", "minimum": 1},
			"offset": map[string]any{"type": "integer", "minimum": 0}, "items": map[string]any{"type": "array", "items": schemaOf(item)}}}
}

// apiIndicatorSummary is one item of GET /api/v1/indicators.
type apiIndicatorSummary struct {
	ID          string              `json:"id"`
	Title       string              `json:"title"`
	Description string              `json:"description"`
	Unit        string              `json:"unit"`
	Polarity    indicators.Polarity `json:"polarity"`
	Method      string              `json:"method"`
	Benchmark   apiBenchmark        `json:"benchmark"`
	URL         string              `json:"url"`
}

// apiBenchmark is an indicator's benchmark as the API names it.
type apiBenchmark struct {
	Kind          string   `json:"kind"`
	Field         string   `json:"field,omitempty"`
	Value         *float64 `json:"value,omitempty"`
	Label         string   `json:"label,omitempty"`
	EnglandValues []string `json:"england_values,omitempty"`
	Areas         []string `json:"areas,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

// observationSchema is one observation as the API gives it (observationJSON).
func observationSchema() map[string]any {
	props := map[string]any{}
	numbers := map[string]bool{"numerator": true, "denominator": true, "value": true, "lower_95": true, "upper_95": true, "lower_99_8": true,
		"upper_99_8": true, "benchmark": true, "funnel_lower_95": true, "funnel_upper_95": true, "funnel_lower_99_8": true, "funnel_upper_99_8": true,
		"quintile": true, "version": true}
	for _, c := range observationColumns {
		if numbers[c] {
			props[c] = map[string]any{"type": "number", "nullable": true}
		} else {
			props[c] = map[string]any{"type": "string"}
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": observationColumns, "additionalProperties": false}
}

// responseSchemas are the 200 answers' schemas, by route.
func responseSchemas() map[string]map[string]any {
	return map[string]map[string]any{
		"/api/v1":          schemaOf(apiIndexBody{}),
		"/api/v1/datasets": pageSchema(apiDataset{}),
		"/api/v1/datasets/{slug}": {"type": "object", "required": []string{"dataset", "releases"}, "additionalProperties": false,
			"properties": map[string]any{"dataset": schemaOf(apiDataset{}), "releases": map[string]any{"type": "array", "items": schemaOf(apiReleaseOut{})}}},
		"/api/v1/datasets/{slug}/releases/{version}":             schemaOf(apiReleaseOut{}),
		"/api/v1/datasets/{slug}/releases/{version}/rows/{file}": schemaOf(rowsPage{}),
		"/api/v1/organisations":                                  pageSchema(apiOrganisation{}),
		"/api/v1/organisations/{code}":                           schemaOf(apiOrganisation{}),
		"/api/v1/organisations/{code}/feedback":                  schemaOf(apiFeedback{}),
		"/api/v1/indicators": {"type": "object", "required": []string{"total", "items"}, "additionalProperties": false,
			"properties": map[string]any{"total": map[string]any{"type": "integer"}, "items": map[string]any{"type": "array", "items": schemaOf(apiIndicatorSummary{})}}},
		"/api/v1/indicators/{id}/observations": {"type": "object", "required": []string{"indicator", "total", "limit", "offset", "columns", "items"},
			"additionalProperties": false, "properties": map[string]any{"indicator": map[string]any{"type": "string"}, "total": map[string]any{"type": "integer"},
				"limit": map[string]any{"type": "integer"}, "offset": map[string]any{"type": "integer"},
				"columns": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"items":   map[string]any{"type": "array", "items": observationSchema()}}},
		"/api/v1/search":       schemaOf(apiSearch{}),
		"/api/v1/openapi.json": {"type": "object", "required": []string{"openapi", "info", "paths"}},
	}
}
