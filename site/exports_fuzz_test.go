package site

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// exportFuzzSchema has a filterable field of every type, a field filtered
// as an organisation without a role, and fields that cannot filter.
const exportFuzzSchema = `{"fields": [
	{"name": "Org Code", "candour:role": "key", "candour:organisation": {"nameField": "Org Name"}},
	{"name": "Org Name"},
	{"name": "Site", "candour:organisation": {"type": "site"}},
	{"name": "Period", "type": "period", "format": "YYYY-YY", "candour:role": "key"},
	{"name": "Year", "type": "period", "candour:role": "dimension"},
	{"name": "Month", "type": "yearmonth", "candour:role": "dimension"},
	{"name": "Opened", "type": "date", "format": "%Y%m%d", "candour:role": "dimension"},
	{"name": "Day", "type": "date", "candour:role": "dimension"},
	{"name": "Calendar year", "type": "year", "candour:role": "dimension"},
	{"name": "Band", "type": "integer", "candour:role": "dimension", "candour:suppressed": ["*"]},
	{"name": "Score", "type": "number", "candour:role": "dimension", "candour:suppressed": ["~"]},
	{"name": "Zero", "type": "integer", "candour:role": "dimension", "candour:suppressed": ["0"]},
	{"name": "Dispensing", "type": "boolean", "candour:role": "dimension"},
	{"name": "Patients", "type": "integer", "candour:role": "measure"}
], "missingValues": ["", "-"]}`

// exportFuzzCells is one row of the schema above, used to run the filters
// FuzzRowFilter builds.
var exportFuzzCells = []string{"RR8", "LEEDS", "RR801", "2020-21", "2020/21", "2020-04", "20200401", "2020-04-01", "2020", "3", "2.5", "0", "true", "12"}

// splitQuery splits a query string into its parameters, in order, as
// fasthttp's VisitAll hands them to parseExport.
func splitQuery(q string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// FuzzRowFilter parses an arbitrary query string into the filters of a
// row export. addRowFilter must not panic; a parameter it refuses is a
// 400 naming the parameter; the filters it builds are well formed (a
// filterable field, a known operator, at least one value, one value for a
// range bound, no suppressed value, one filter per field and operator);
// and turning them into a row-store query and checking a row with them
// does not panic either.
func FuzzRowFilter(f *testing.F) {
	schema, err := datasets.ParseSchema([]byte(exportFuzzSchema))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eq.Org+Code=RR8&gte.Period=2020-21&format=csv")
	f.Fuzz(func(t *testing.T, query string) {
		var filters []rowFilter
		for _, kv := range splitQuery(query) {
			var err error
			before := len(filters)
			filters, err = addRowFilter(schema, filters, kv[0], kv[1])
			if err != nil {
				var ue *userError
				if !errors.As(err, &ue) || ue.status != http.StatusBadRequest || !strings.Contains(ue.message, kv[0]) {
					t.Fatalf("parameter %q=%q: got %v (%T), want a 400 naming the parameter", kv[0], kv[1], err, err)
				}
				if len(filters) != before {
					t.Fatalf("parameter %q=%q: refused, but the filters changed", kv[0], kv[1])
				}
				break
			}
		}
		seen := map[[2]any]bool{}
		for _, rf := range filters {
			if rf.field < 0 || rf.field >= len(schema.Fields) {
				t.Fatalf("filter on field %d of %d", rf.field, len(schema.Fields))
			}
			fd := schema.Fields[rf.field]
			if fd.Role != datasets.RoleKey && fd.Role != datasets.RoleDimension && fd.Organisation == nil {
				t.Fatalf("filter on %q, which cannot filter", fd.Name)
			}
			switch {
			case rf.op != "eq" && rf.op != "gte" && rf.op != "lte":
				t.Fatalf("filter with operator %q", rf.op)
			case len(rf.vals) == 0, rf.op != "eq" && len(rf.vals) != 1:
				t.Fatalf("%s.%s with %d values", rf.op, fd.Name, len(rf.vals))
			case seen[[2]any{rf.field, rf.op}]:
				t.Fatalf("two %s filters on %q", rf.op, fd.Name)
			}
			seen[[2]any{rf.field, rf.op}] = true
			for _, v := range rf.vals {
				if v.Kind == datasets.KindSuppressed {
					t.Fatalf("%s.%s filters by a suppressed value", rf.op, fd.Name)
				}
			}
		}
		e := export{Schema: schema, Filters: filters}
		_, keep, err := storeQuery(e, datasets.FileRef{Release: 1, File: "data.csv"})
		if err != nil {
			t.Fatalf("storeQuery: %v", err)
		}
		if keep != nil {
			keep(exportFuzzCells)
			keep(exportFuzzCells[:3])
		}
		for _, rf := range filters {
			v, _ := schema.Fields[rf.field].Parse(exportFuzzCells[rf.field], schema.MissingValues)
			rf.match(v)
		}
	})
}
