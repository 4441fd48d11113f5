package rowsqlite

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/candour/candour/datasets"
)

func TestDecodeCellsMatchesEncodingJSON(t *testing.T) {
	for _, cells := range [][]string{{}, {""}, {"A81001", "0012", ""}, {"RR8", "*", "1.5"}, {"x,y", `"q"`, `back\\slash`}, {"é ü", "<tag>", "tab\there"}} {
		raw, _ := json.Marshal(cells)
		got, err := decodeCells(string(raw))
		if err != nil || !slices.Equal(got, cells) {
			t.Errorf("%s: got %q %v", raw, got, err)
		}
	}
	for _, bad := range []string{`["a"`, `[1]`, `["a" "b"]`, `["a`} {
		if _, err := decodeCells(bad); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// A filter reads only the columns it names: a block whose dictionary
// lacks the value is skipped, and a plain column no filter names is not
// decoded until rows are built, and then only the selected cells.
func TestFilterReadsOnlyItsColumns(t *testing.T) {
	var w blockWriter
	for i := range 300 {
		w.add([]string{"A", strconv.Itoa(i), strconv.Itoa(i % 300)})
	}
	data := w.encode()
	b, err := decodeBlock(data)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := &b.columns[1], &b.columns[2]
	if !b.columns[0].dict || c1.dict || !c1.zone || c1.lo != 0 || c1.hi != 299 {
		t.Fatalf("columns: %+v %+v", b.columns[0], *c1)
	}
	if c2.dict {
		t.Fatalf("300 distinct values made a dictionary")
	}
	all := func() []int32 {
		var sel []int32
		for i := range b.rows {
			sel = append(sel, int32(i))
		}
		return sel
	}
	sel, err := b.filter(all(), datasets.RowQuery{Equal: map[int][]string{0: {"B"}}})
	if err != nil || len(sel) != 0 {
		t.Errorf("dictionary without the value: %v %v", sel, err)
	}
	sel, err = b.filter(all(), datasets.RowQuery{Within: map[int]datasets.Range{1: {Min: 400, Max: math.Inf(1)}}})
	if err != nil || len(sel) != 0 || c1.cells != nil {
		t.Errorf("zone outside the range: %v %v; column decoded: %v", sel, err, c1.cells != nil)
	}
	sel, err = b.filter(all(), datasets.RowQuery{Equal: map[int][]string{0: {"A"}}, Within: map[int]datasets.Range{2: {Min: 10, Max: 12}}})
	if err != nil || !slices.Equal(sel, []int32{10, 11, 12}) || c1.cells != nil {
		t.Errorf("filters: %v %v; unfiltered column decoded: %v", sel, err, c1.cells != nil)
	}
	rows, err := b.build(sel)
	if err != nil || len(rows) != 3 || !slices.Equal(rows[2], []string{"A", "12", "12"}) {
		t.Errorf("built %q %v", rows, err)
	}
	// Any damage is caught by the checksum.
	data[len(data)/2] ^= 1
	if _, err := decodeBlock(data); !errors.Is(err, errBlock) {
		t.Errorf("a damaged block decoded: %v", err)
	}
}
