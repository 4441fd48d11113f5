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
