package disclosure

import (
	"fmt"
	"strings"
	"testing"
)

// The array index of margin groups and the packed or identity keys of the
// map index must group rows alike: same key exactly when the rows differ
// only in the dimension.
func TestDenseGroupKeysGroupLikeMapKeys(t *testing.T) {
	const schema = `{"fields": [
	  {"name": "area", "type": "string", "candour:role": "key"},
	  {"name": "age", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": ["area", "age", "sex"], "candour:disclosure": {"rule": "nhs-digital"}}`
	var csv strings.Builder
	csv.WriteString("area,age,sex,n\n")
	for a := range 7 {
		for _, age := range []string{"0-17", "18-64", "65+", "All"} {
			for _, sex := range []string{"F", "M", "All"} {
				fmt.Fprintf(&csv, "A%d,%s,%s,%d\n", a, age, sex, 10+a)
			}
		}
	}
	f := parseFile(t, "groups.csv", schema, csv.String())
	tb, err := newCurrentTable(f, &checker{})
	if err != nil {
		t.Fatal(err)
	}
	m := &model{tables: []*table{tb}}
	b := newModelBuilder(m)
	b.internRows(0)
	for _, dc := range tb.identCols {
		dense, span, ok := b.denseGroupKeys(0, dc, 1<<20)
		if !ok {
			t.Fatalf("column %d: no dense keys for a small table", dc)
		}
		sparse := b.groupKeys(0, dc)
		for r := range tb.cells {
			if k := dense(r); k >= uint64(span) {
				t.Fatalf("column %d, row %d: key %d not below span %d", dc, r, k, span)
			}
			for s := range tb.cells {
				if (dense(r) == dense(s)) != (sparse(r) == sparse(s)) {
					t.Fatalf("column %d: rows %d and %d grouped together by one index and apart by the other", dc, r, s)
				}
			}
		}
		if _, _, ok := b.denseGroupKeys(0, dc, 2); ok {
			t.Errorf("column %d: dense keys given beyond the limit", dc)
		}
	}
}
