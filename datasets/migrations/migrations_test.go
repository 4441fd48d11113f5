package migrations

import (
	"strings"
	"testing"
)

func TestPending(t *testing.T) {
	files := []File{{Version: 1, Name: "0001_a.sql", SHA256: "aa"}, {Version: 2, Name: "0002_b.sql", SHA256: "bb"}}
	for _, tc := range []struct {
		name    string
		applied map[int]string
		want    string // versions pending, or the error's words
	}{
		{"none applied", nil, "1 2"},
		{"first applied", map[int]string{1: "aa"}, "2"},
		{"all applied", map[int]string{1: "aa", 2: "bb"}, ""},
		{"a changed file", map[int]string{1: "zz"}, "0001_a.sql was changed"},
		{"a missing file", map[int]string{1: "aa", 3: "cc"}, "version 3 is recorded but its file is missing"},
	} {
		got, err := Pending(files, tc.applied)
		var words string
		if err != nil {
			words = err.Error()
		} else {
			var vs []string
			for _, f := range got {
				vs = append(vs, strings.TrimSuffix(strings.TrimPrefix(f.Name, "000"), ".sql")[:1])
			}
			words = strings.Join(vs, " ")
		}
		if !strings.Contains(words, tc.want) || (err == nil && words != tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, words, tc.want)
		}
	}
}
