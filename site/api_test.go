package site

import "testing"

// An upload part is named by the resource's path as its descriptor gives
// it, folders included, and never by one that could leave the upload's
// folder.
func TestPartPath(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"admissions.csv", true},
		{"data/admissions.csv", true},
		{"data/schemas/admissions.schema.json", true},
		{"a/b/c/d/e.csv", true},
		{"a/b/c/d/e/f.csv", false},
		{"../admissions.csv", false},
		{"data/../../x.csv", false},
		{"/etc/passwd", false},
		{"data//x.csv", false},
		{"./x.csv", false},
		{"data/x y.csv", false},
		{"", false},
		{"data/", false},
	} {
		if _, ok := partPath(c.name); ok != c.ok {
			t.Errorf("partPath(%q): ok %t, want %t", c.name, ok, c.ok)
		}
	}
}
