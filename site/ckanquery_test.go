package site

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// samplePackages are three packages to filter and sort.
func samplePackages() []ckanPackage {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 30, 0, 123456000, time.UTC) }
	org := func(n string) *ckanOrg { return &ckanOrg{ID: n, Name: n, Title: strings.ToUpper(n)} }
	return []ckanPackage{
		{ID: "ae-waits", Name: "ae-waits", Title: "A&E waits", LicenseID: "OGL-UK-3.0", IsOpen: true, Organization: org("nhs-england"),
			Tags: []ckanTag{{Name: "Urgent care"}}, Groups: []ckanGroup{{Name: "urgent-care"}}, Resources: []ckanResource{{Format: "CSV"}},
			NumResources: 1, modified: day(20), created: day(1)},
		{ID: "cancer", Name: "cancer", Title: "Cancer waiting times", LicenseID: "OGL-UK-3.0", IsOpen: true, Organization: org("nhs-england"),
			Tags: []ckanTag{{Name: "Cancer"}}, Groups: []ckanGroup{{Name: "cancer"}}, Resources: []ckanResource{{Format: "CSV"}, {Format: "CSV"}},
			NumResources: 2, modified: day(25), created: day(2)},
		{ID: "ratings", Name: "ratings", Title: "Care ratings", LicenseID: "other", IsOpen: false, Organization: org("cqc"),
			Tags: []ckanTag{}, Groups: []ckanGroup{}, Resources: []ckanResource{}, modified: day(10), created: day(3)},
	}
}

func TestParseFQ(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		fq   string
		want []string // names matched, in order
	}{
		{"", []string{"ae-waits", "cancer", "ratings"}},
		{"*:*", []string{"ae-waits", "cancer", "ratings"}},
		{"organization:nhs-england", []string{"ae-waits", "cancer"}},
		{`tags:"Urgent care"`, []string{"ae-waits"}},
		{"-organization:nhs-england", []string{"ratings"}},
		{"NOT organization:cqc AND groups:cancer", []string{"cancer"}},
		{"(organization:cqc OR groups:cancer)", []string{"cancer", "ratings"}},
		{"organization:cqc || name:ae-waits", []string{"ae-waits", "ratings"}},
		{"+organization:nhs-england +res_format:csv", []string{"ae-waits", "cancer"}},
		{"isopen:false", []string{"ratings"}},
		{"groups:*", []string{"ae-waits", "cancer"}},
		// CKAN's harvester, incremental: changes since an instant (Z or not).
		{"metadata_modified:[2026-11-20T09:30:00.123456Z TO *]", []string{"ae-waits", "cancer"}},
		{"metadata_modified:{2026-11-20T09:30:00.123456Z TO *]", []string{"cancer"}},
		{"metadata_modified:[2026-11-21T00:00:00 TO *]", []string{"cancer"}},
		{"metadata_modified:[* TO 2026-11-15]", []string{"ratings"}},
		{"metadata_created:[NOW-28DAYS TO NOW]", []string{"cancer", "ratings"}},
		{"(organization:nhs-england OR organization:cqc) metadata_modified:[2026-11-15T00:00:00Z TO *]", []string{"ae-waits", "cancer"}},
		{"-organization:cqc -organization:nhs-england", nil},
	} {
		pred, err := parseFQ(tc.fq, now)
		if err != nil {
			t.Errorf("parseFQ(%q): %v", tc.fq, err)
			continue
		}
		var got []string
		for _, p := range samplePackages() {
			if pred(p) {
				got = append(got, p.Name)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseFQ(%q) matches %v, want %v", tc.fq, got, tc.want)
		}
	}
	for fq, want := range map[string]string{
		"owner:nhs":                          `the field "owner" cannot filter`,
		"organization:a AND":                 "is not a field:value term",
		"(organization:a":                    "not closed",
		"name:[a TO b]":                      "name cannot take a range",
		"metadata_modified:[yesterday TO *]": `"yesterday" is not a date`,
		"metadata_modified:[2026-01-01":      "not closed",
		"isopen:maybe":                       "true or false",
		`tags:"open`:                         "quote",
		"organization:a)":                    `unexpected ")"`,
	} {
		if _, err := parseFQ(fq, now); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "fq: ") {
			t.Errorf("parseFQ(%q): %v, want an error saying %q", fq, err, want)
		}
	}
}

func TestCKANSort(t *testing.T) {
	for _, tc := range []struct {
		sort string
		rank map[string]int
		want []string
	}{
		{"", nil, []string{"cancer", "ae-waits", "ratings"}}, // score (all equal), then newest first
		{"metadata_modified asc", nil, []string{"ratings", "ae-waits", "cancer"}},
		{"name desc", nil, []string{"ratings", "cancer", "ae-waits"}},
		{"id asc", nil, []string{"ae-waits", "cancer", "ratings"}},
		{"title_string asc", nil, []string{"ae-waits", "cancer", "ratings"}},
		{"score desc, metadata_modified desc", map[string]int{"ratings": 1, "ae-waits": 2, "cancer": 3}, []string{"ratings", "ae-waits", "cancer"}},
		{"num_resources desc, name asc", nil, []string{"cancer", "ae-waits", "ratings"}},
	} {
		keys, err := parseCKANSort(tc.sort)
		if err != nil {
			t.Fatalf("parseCKANSort(%q): %v", tc.sort, err)
		}
		pkgs := samplePackages()
		sortPackages(pkgs, keys, tc.rank)
		var got []string
		for _, p := range pkgs {
			got = append(got, p.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("sort %q: %v, want %v", tc.sort, got, tc.want)
		}
	}
	for _, bad := range []string{"views desc", "name sideways", "name asc extra"} {
		if _, err := parseCKANSort(bad); err == nil || !strings.HasPrefix(err.Error(), "sort: ") {
			t.Errorf("parseCKANSort(%q): %v, want an error", bad, err)
		}
	}
}
