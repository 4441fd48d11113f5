package site

import (
	"testing"
	"time"
)

// FuzzParseFQ parses arbitrary CKAN fq parameters. parseFQ must not
// panic; a refused fq gives no predicate and a message; an accepted one
// evaluates on any package, NOT (fq) is its negation and (fq) AND (fq)
// is fq itself.
func FuzzParseFQ(f *testing.F) {
	for _, seed := range []string{
		`organization:nhs-england AND tags:"waiting times"`,
		`(organization:a OR organization:b) -organization:c metadata_modified:[2026-01-01T00:00:00.123456Z TO *]`,
		`NOT groups:cancer || isopen:true`, `metadata_created:{NOW-7DAYS TO NOW}`, `*:*`, `name:a\ b`,
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	pkgs := samplePackages()
	f.Fuzz(func(t *testing.T, fq string) {
		pred, err := parseFQ(fq, now)
		if err != nil {
			if pred != nil || err.Error() == "" {
				t.Fatalf("parseFQ(%q): predicate with error %v", fq, err)
			}
			return
		}
		not, err1 := parseFQ("NOT ("+fq+")", now)
		twice, err2 := parseFQ("("+fq+") AND ("+fq+")", now)
		if err1 != nil || err2 != nil {
			// A term may end in a bare value that swallows the closing
			// parenthesis's neighbour; such an fq is still answered.
			return
		}
		for _, p := range pkgs {
			if got := pred(p); not(p) == got || twice(p) != got {
				t.Fatalf("parseFQ(%q) on %s: %v, but NOT gives %v and AND with itself %v", fq, p.Name, got, not(p), twice(p))
			}
		}
	})
}
