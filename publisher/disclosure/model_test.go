package disclosure

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A relation is added once however often it is stated: the same merged
// terms are the same relation, whichever unknown they start with and
// whatever other relations start with it.
func TestCommitKeepsOneOfEachRelation(t *testing.T) {
	m := &model{vars: make([]avar, 5)}
	b := &modelBuilder{m: m}
	steps := []struct {
		terms []term
		added bool
	}{
		{[]term{{0, 1}, {1, -1}, {2, -1}}, true},
		{[]term{{0, 1}, {1, -1}, {3, -1}}, true}, // same first unknown, another relation
		{[]term{{0, 1}, {1, -1}, {2, -1}}, false},
		{[]term{{0, 1}, {1, -1}}, true}, // a prefix of the first is another relation
		{[]term{{1, 1}, {2, -1}}, true},
		{[]term{{0, 1}, {1, -1}, {3, -1}}, false},
		{[]term{{0, -1}, {1, 1}, {2, 1}}, true}, // the first negated: not the same terms
		{[]term{{4, 1}}, true},
		{[]term{{1, 1}, {2, -1}}, false},
		{nil, false}, // no terms: nothing to add
	}
	for i, s := range steps {
		before := len(m.eqs)
		b.commit(pendingEq{margin: 0, terms: s.terms})
		if got := len(m.eqs) > before; got != s.added {
			t.Errorf("step %d (%v): added %v, want %v", i, s.terms, got, s.added)
		}
	}
}

// Two files stating the same cells and margins give the model the
// relations of one.
func TestSameRelationsFromTwoFilesAreModelledOnce(t *testing.T) {
	const schema = `{"fields": [
	  {"name": "area", "type": "string", "candour:role": "key", "candour:totalValues": ["All"]},
	  {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": ["area", "sex"], "candour:disclosure": {"rule": "nhs-digital"}}`
	const csv = "area,sex,n\nA,F,10\nA,M,12\nA,All,22\nB,F,30\nB,M,31\nB,All,61\nAll,F,40\nAll,M,43\nAll,All,83\n"
	modelOf := func(names ...string) *model {
		var tables []*table
		for _, name := range names {
			tb, err := newCurrentTable(parseFile(t, name, schema, csv), &checker{})
			if err != nil {
				t.Fatal(err)
			}
			tables = append(tables, tb)
		}
		return buildModel(tables, nil, nil, &checker{})
	}
	one, two := modelOf("a.csv"), modelOf("a.csv", "b.csv")
	if len(one.eqs) != 6 { // each area's sexes (3), each sex's areas (3)
		t.Fatalf("one file: %d relations, want 6", len(one.eqs))
	}
	if len(two.eqs) != len(one.eqs) || len(two.vars) != len(one.vars) {
		t.Errorf("two files: %d relations of %d unknowns, one file: %d of %d", len(two.eqs), len(two.vars), len(one.eqs), len(one.vars))
	}
}

// A row's identity worked out from its value numbers (denseRowKey) is the
// number its pairs are given (denseNumber), with and without each
// dimension, total values left out; when the identities have no array
// there is none, and the pairs decide.
func TestDenseRowKeyIsThePairsNumber(t *testing.T) {
	const schema = `{"fields": [
	  {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "area", "type": "string", "candour:role": "key", "candour:totalValues": ["England"]},
	  {"name": "age", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": ["area", "age", "sex"], "candour:disclosure": {"rule": "nhs-digital"}}`
	var csv strings.Builder
	csv.WriteString("sex,area,age,n\n")
	for _, sex := range []string{"F", "M", "All"} {
		for _, area := range []string{"A1", "A2", "A3", "England"} {
			for _, age := range []string{"0-17", "18-64", "65+", "All"} {
				fmt.Fprintf(&csv, "%s,%s,%s,%d\n", sex, area, age, 10+len(area))
			}
		}
	}
	f := parseFile(t, "dense.csv", schema, csv.String())
	for _, limit := range []int{1 << 20, 2} {
		tb, err := newCurrentTable(f, &checker{})
		if err != nil {
			t.Fatal(err)
		}
		b := newModelBuilder(&model{tables: []*table{tb}})
		b.internRows(0)
		var fields []uint32
		for _, c := range tb.identCols {
			fields = append(fields, b.fieldIDs[0][c])
		}
		b.ids.useDense(fields, limit)
		for r := range tb.cells {
			for _, skip := range append([]int{-1}, tb.identCols...) {
				want, wantOK := b.ids.denseNumber(b.rowPairs(0, r, skip, nil))
				got, ok := b.denseRowKey(0, r, skip)
				if ok != wantOK || got != want {
					t.Fatalf("limit %d, row %d without column %d: key %d (%v), pairs give %d (%v)", limit, r, skip, got, ok, want, wantOK)
				}
				if ok != (limit > 2) {
					t.Fatalf("limit %d, row %d: dense key given %v", limit, r, ok)
				}
			}
		}
	}
}

// The unknowns of a table of several of addVars' chunks are numbered row
// after row, each with its own cell's true value, whether the identities
// are numbered in the array or in the maps; a missing cell (here at a
// chunk's edge) is no unknown and the numbering goes on. (Two key
// columns have 124 × 201 numbers, which the array takes; three have 2.5
// million, more than it takes for 24,581 rows.)
func TestAddVarsNumbersCellsInRowOrderAcrossChunks(t *testing.T) {
	const rows = 3<<13 + 5
	for _, dims := range []int{2, 3} {
		fields := `{"name": "a", "type": "string", "candour:role": "key"}, {"name": "b", "type": "string", "candour:role": "key"},`
		if dims == 3 {
			fields += `{"name": "c", "type": "string", "candour:role": "key"},`
		}
		schema := `{"fields": [` + fields + `{"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
		  "candour:disclosure": {"rule": "nhs-digital"}}`
		var csv strings.Builder
		csv.WriteString(map[int]string{2: "a,b,n\n", 3: "a,b,c,n\n"}[dims])
		for r := range rows {
			fmt.Fprintf(&csv, "a%d,b%d,", r/200, r%200)
			if dims == 3 {
				fmt.Fprintf(&csv, "c%d,", (r*7)%101)
			}
			if r == 1<<13 {
				csv.WriteString("\n") // missing
				continue
			}
			fmt.Fprintf(&csv, "%d\n", r%97)
		}
		f := parseFile(t, "chunks.csv", schema, csv.String())
		tb, err := newCurrentTable(f, &checker{})
		if err != nil {
			t.Fatal(err)
		}
		m := buildModel([]*table{tb}, nil, nil, &checker{})
		if len(m.vars) != rows-1 {
			t.Fatalf("%d dimensions: %d unknowns, want %d", dims, len(m.vars), rows-1)
		}
		col := dims
		for r := range rows {
			vi, ok := m.varOf(obs{0, r, col})
			switch {
			case r == 1<<13:
				if ok {
					t.Fatalf("%d dimensions: the missing cell of row %d is unknown %d", dims, r, vi)
				}
				continue
			case !ok:
				t.Fatalf("%d dimensions: row %d has no unknown", dims, r)
			}
			want := r
			if r > 1<<13 {
				want--
			}
			v := m.vars[vi]
			if vi != want || v.obs[0] != (obs{0, r, col}) || !v.hasTruth || v.truth != float64(r%97) {
				t.Fatalf("%d dimensions: row %d is unknown %d (want %d), %+v", dims, r, vi, want, v)
			}
		}
	}
}

// The model's unknowns and relations are the same whether identities are
// numbered in the array or in the maps (a release too large for the
// array): the margins' groups are then grouped, and their identities
// numbered, the other way.
func TestModelAlikeWithIdentitiesInArrayOrMaps(t *testing.T) {
	const schema = `{"fields": [
	  {"name": "area", "type": "string", "candour:role": "key", "candour:totalValues": ["England"]},
	  {"name": "age", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": ["area", "age", "sex"], "candour:disclosure": {"rule": "nhs-digital"}}`
	ages, sexes := []string{"0-17", "18-64", "65+"}, []string{"F", "M"}
	value := func(a, g, s int) int { return 3 + (a*7+g*3+s*5)%40 }
	sum := func(as, gs, ss []int) int {
		n := 0
		for _, a := range as {
			for _, g := range gs {
				for _, s := range ss {
					n += value(a, g, s)
				}
			}
		}
		return n
	}
	const areas = 12
	all := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var csv strings.Builder
	csv.WriteString("area,age,sex,n\n")
	for a := range areas + 1 {
		for g := range len(ages) + 1 {
			for s := range len(sexes) + 1 {
				as, gs, ss := []int{a}, []int{g}, []int{s}
				area, age, sex := fmt.Sprintf("A%02d", a), "All", "All"
				if a == areas {
					as, area = all(areas), "England"
				}
				if g < len(ages) {
					age = ages[g]
				} else {
					gs = all(len(ages))
				}
				if s < len(sexes) {
					sex = sexes[s]
				} else {
					ss = all(len(sexes))
				}
				fmt.Fprintf(&csv, "%s,%s,%s,%d\n", area, age, sex, sum(as, gs, ss))
			}
		}
	}
	f := parseFile(t, "areas.csv", schema, csv.String())
	modelWithin := func(limit int) *model {
		tb, err := newCurrentTable(f, &checker{})
		if err != nil {
			t.Fatal(err)
		}
		return buildModelWithin([]*table{tb}, nil, nil, &checker{}, limit)
	}
	inArray, inMaps := modelWithin(1<<20), modelWithin(2)
	if len(inArray.eqs) != (areas+1)*4+(areas+1)*3+4*3 {
		t.Fatalf("%d relations, want each area's and England's ages and sexes, and each age's and sex's areas", len(inArray.eqs))
	}
	if len(inMaps.vars) != len(inArray.vars) || len(inMaps.eqs) != len(inArray.eqs) {
		t.Fatalf("maps: %d unknowns, %d relations; array: %d, %d", len(inMaps.vars), len(inMaps.eqs), len(inArray.vars), len(inArray.eqs))
	}
	for i := range inArray.eqs {
		if a, m := inArray.eqs[i], inMaps.eqs[i]; !slices.Equal(a.terms, m.terms) || a.broken != m.broken {
			t.Errorf("relation %d: array %+v, maps %+v", i, a, m)
		}
	}
}

// The identity columns' values numbered when totals were looked for are
// renumbered for the model exactly as numbering the rows one by one
// would number them, including a second file's values of the same
// fields (some new, met in another order) and the totals found.
func TestInternRowsRenumbersTheTotalsSearchsNumbers(t *testing.T) {
	const schema = `{"fields": [
	  {"name": "sex", "type": "string", "candour:role": "dimension", "candour:totalValues": ["All"]},
	  {"name": "area", "type": "string", "candour:role": "key"},
	  {"name": "n", "type": "integer", "candour:countOfIndividuals": true}],
	  "primaryKey": ["area", "sex"], "candour:disclosure": {"rule": "nhs-digital"}}`
	first := "sex,area,n\nM,B,20\nF,B,30\nAll,B,50\nF,A,11\nM,A,12\nAll,A,23\nF,England,41\nM,England,32\nAll,England,73\n"
	second := "sex,area,n\nF,C,9\nM,C,8\nAll,C,17\nM,B,20\nF,B,30\nAll,B,50\n"
	build := func(keep bool) *modelBuilder {
		var tables []*table
		for i, csv := range []string{first, second} {
			tb, err := newCurrentTable(parseFile(t, fmt.Sprintf("f%d.csv", i), schema, csv), &checker{})
			if err != nil {
				t.Fatal(err)
			}
			if len(tb.identNumbers.ids) != 2 {
				t.Fatalf("file %d: the totals search numbered %d columns", i, len(tb.identNumbers.ids))
			}
			if !keep {
				tb.identNumbers = identNumbers{}
			}
			tables = append(tables, tb)
		}
		b := newModelBuilder(&model{tables: tables})
		for ti := range tables {
			b.internRows(ti)
		}
		return b
	}
	renumbered, rowByRow := build(true), build(false)
	for ti := range 2 {
		for k := range renumbered.vals[ti] {
			if !slices.Equal(renumbered.vals[ti][k], rowByRow.vals[ti][k]) {
				t.Errorf("file %d, column %d: %v, row by row %v", ti, k, renumbered.vals[ti][k], rowByRow.vals[ti][k])
			}
		}
	}
	for f := range renumbered.ids.values {
		if !reflect.DeepEqual(renumbered.ids.values[f], rowByRow.ids.values[f]) {
			t.Errorf("field %s: %v, row by row %v", renumbered.ids.names[f], renumbered.ids.values[f], rowByRow.ids.values[f])
		}
	}
	if renumbered.vals[0][1][0] != 0 || renumbered.vals[0][1][2] != noValue { // sex: M first, All a total
		t.Errorf("sex of the first file: %v", renumbered.vals[0][1])
	}
}
