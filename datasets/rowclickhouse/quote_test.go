package rowclickhouse

import "testing"

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
		if cells, err := unpackCells(packed, 0); err == nil {
			t.Errorf("unpackCells(%q) = %q, want an error", packed, cells)
		}
	}
	cells, err := unpackCells("0:3:a:b2:::1:,", 4)
	if err != nil || len(cells) != 4 || cells[0] != "" || cells[1] != "a:b" || cells[2] != "::" || cells[3] != "," {
		t.Errorf("unpackCells: %q %v", cells, err)
	}
}
