package rowsqlite

import (
	"encoding/json"
	"slices"
	"testing"
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
