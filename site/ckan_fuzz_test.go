package site

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseFQ parses arbitrary CKAN fq parameters. parseFQ must not
// panic; an fq it refuses gives no filters and an error; the filters it
// gives name only the fields it supports; and writing them back as
// field:"value" terms parses to the same filters.
func FuzzParseFQ(f *testing.F) {
	f.Add(`organization:nhs-england AND tags:"waiting times"`)
	f.Fuzz(func(t *testing.T, fq string) {
		got, err := parseFQ(fq)
		if err != nil {
			if got != nil || err.Error() == "" {
				t.Fatalf("parseFQ(%q): filters %v with error %v", fq, got, err)
			}
			return
		}
		terms := make([]string, 0, len(got))
		quotable := true
		for _, c := range got {
			switch c.field {
			case "organization", "tags", "groups", "res_format", "license_id", "name":
			default:
				t.Fatalf("parseFQ(%q) accepted field %q", fq, c.field)
			}
			quotable = quotable && !strings.Contains(c.value, `"`)
			terms = append(terms, c.field+`:"`+c.value+`"`)
		}
		if !quotable {
			return
		}
		again, err := parseFQ(strings.Join(terms, " AND "))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("parseFQ(%q) = %v, but written back as %q it gives %v, %v", fq, got, strings.Join(terms, " AND "), again, err)
		}
	})
}
