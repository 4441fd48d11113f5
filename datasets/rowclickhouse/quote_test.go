package rowclickhouse

import (
	"strconv"
	"testing"
)

func TestQuoteString(t *testing.T) {
	for in, want := range map[string]string{
		"a.csv":       `'a.csv'`,
		"it's.csv":    `'it\'s.csv'`,
		`back\slash'`: `'back\\slash\''`,
	} {
		if got := quoteString(in); got != want {
			t.Errorf("quoteString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestUnpackCellsRefusesWhatPackingNeverWrites(t *testing.T) {
	for _, packed := range []string{"3:ab", "x:a", "2ab", "-1:", "1:a2"} {
		if cells, err := unpackCells(packed, nil); err == nil {
			t.Errorf("unpackCells(%q) = %q, want an error", packed, cells)
		}
	}
	cells, err := unpackCells("0:3:a:b2:::1:,", nil)
	if err != nil || len(cells) != 4 || cells[0] != "" || cells[1] != "a:b" || cells[2] != "::" || cells[3] != "," {
		t.Errorf("unpackCells: %q %v", cells, err)
	}
}

// Rows' cells cut from a shared slab stay each row's own: what a reader
// keeps is never overwritten by later rows, and appending to one row's
// cells cannot reach the next row's.
func TestCellSlabRowsStayApart(t *testing.T) {
	var slab cellSlab
	var kept [][]string
	for i := range 3*cellSlabRows + 5 {
		kept = append(kept, slab.copyOf([]string{strconv.Itoa(i), "R" + strconv.Itoa(i)}))
	}
	first, second := kept[0], kept[1]
	if cap(first) != 2 {
		t.Fatalf("a row's cells have capacity %d, want 2", cap(first))
	}
	_ = append(first, "appended")
	if second[0] != "1" {
		t.Errorf("appending to row 0 changed row 1: %q", second)
	}
	for i, cells := range kept {
		if len(cells) != 2 || cells[0] != strconv.Itoa(i) || cells[1] != "R"+strconv.Itoa(i) {
			t.Fatalf("row %d kept %q", i, cells)
		}
	}
}
