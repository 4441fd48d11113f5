package searchbleve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
)

var testDocs = []catalogue.SearchDocument{
	{ID: "organisation:A81001", Kind: catalogue.KindOrganisation, Title: "The Densham Surgery", Codes: []string{"A81001", "TS18 1HU", "TS18"},
		Places: []string{"THE HEALTH CENTRE", "STOCKTON-ON-TEES", "CLEVELAND"}, OrgType: "gp-practice", Location: &catalogue.LatLon{Lat: 54.56, Lon: -1.32}},
	{ID: "organisation:A81002", Kind: catalogue.KindOrganisation, Title: "Queens Park Medical Centre", Codes: []string{"A81002", "TS18 2AW", "TS18"},
		Places: []string{"STOCKTON-ON-TEES"}, OrgType: "gp-practice", Location: &catalogue.LatLon{Lat: 54.57, Lon: -1.31}},
	{ID: "organisation:RR8", Kind: catalogue.KindOrganisation, Title: "Leeds Teaching Hospitals NHS Trust", Codes: []string{"RR8", "LS9 7TF"},
		Places: []string{"LEEDS", "WEST YORKSHIRE"}, OrgType: "nhs-trust", Location: &catalogue.LatLon{Lat: 53.80, Lon: -1.52}},
	{ID: "dataset:proms", Kind: catalogue.KindDataset, Title: "Patient Reported Outcome Measures (PROMs)", Text: "Health gain after hip and knee replacements.",
		Publisher: "NHS Digital", Topics: []string{"Surgery", "Patient outcomes"}, Status: "published", Updated: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)},
	{ID: "dataset:shmi", Kind: catalogue.KindDataset, Title: "Summary Hospital-level Mortality Indicator (SHMI)", Text: "Deaths compared with the number expected.",
		Publisher: "HSCIC", Topics: []string{"Mortality"}, Status: "published", Updated: time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)},
	{ID: "release:7", Kind: catalogue.KindRelease, Release: 7, Title: "SHMI, published April 2014", Text: "Values for SECRETTRUST.", Publisher: "HSCIC"},
	{ID: "release:8", Kind: catalogue.KindRelease, Release: 8, Title: "SHMI, published July 2014", Text: "Values for OPENTRUST.", Publisher: "HSCIC"},
}

func build(t *testing.T) (*Index, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "search")
	x, err := Create(context.Background(), dir, func(ctx context.Context, x *Index) error { return x.Put(ctx, testDocs) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, dir
}

func ids(r catalogue.SearchResults) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.Document.ID)
	}
	return out
}

func TestRelevanceAndAnalysis(t *testing.T) {
	x, _ := build(t)
	for _, tc := range []struct {
		q, first string
	}{
		{"Dens", "organisation:A81001"},
		{"densham", "organisation:A81001"},
		{"A81001", "organisation:A81001"},
		{"a81001", "organisation:A81001"},
		{"TS18 1HU", "organisation:A81001"},
		{"TS181HU", "organisation:A81001"},
		{"leeds teaching", "organisation:RR8"},
		{"leeds teach", "organisation:RR8"},
		{"replacement", "dataset:proms"},
		{"hip replacements", "dataset:proms"},
		{"mortality", "dataset:shmi"},
		{"stockton on tess", ""}, // checked below: both Stockton practices
	} {
		res, err := x.Search(context.Background(), catalogue.SearchQuery{Text: tc.q, Visible: []int64{8}})
		if err != nil {
			t.Fatal(err)
		}
		if tc.first == "" {
			got := ids(res)
			if len(got) < 2 || !strings.HasPrefix(got[0], "organisation:A8100") || !strings.HasPrefix(got[1], "organisation:A8100") {
				t.Errorf("%q: %v", tc.q, got)
			}
			continue
		}
		if len(res.Hits) == 0 || res.Hits[0].Document.ID != tc.first {
			t.Errorf("%q: first %v, want %s", tc.q, ids(res), tc.first)
		}
	}
}

func TestHiddenReleasesAreNeverFoundOrCounted(t *testing.T) {
	x, _ := build(t)
	ctx := context.Background()
	count := func(res catalogue.SearchResults, facet, value string) int {
		for _, c := range res.Facets[facet] {
			if c.Value == value {
				return c.Count
			}
		}
		return 0
	}
	res, _ := x.Search(ctx, catalogue.SearchQuery{Text: "SECRETTRUST", Visible: []int64{8}})
	if res.Total != 0 {
		t.Errorf("a hidden release's value was found: %v", ids(res))
	}
	all, _ := x.Search(ctx, catalogue.SearchQuery{Visible: []int64{8}})
	if all.Total != 6 || count(all, catalogue.FacetKind, catalogue.KindRelease) != 1 || count(all, catalogue.FacetPublisher, "HSCIC") != 2 {
		t.Errorf("everything visible: %d, facets %v", all.Total, all.Facets)
	}
	none, _ := x.Search(ctx, catalogue.SearchQuery{Text: "SHMI"})
	if got := ids(none); len(got) != 1 || got[0] != "dataset:shmi" {
		t.Errorf("no release visible: %v", got)
	}
	both, _ := x.Search(ctx, catalogue.SearchQuery{Text: "SECRETTRUST", Visible: []int64{7, 8}})
	if both.Total != 1 {
		t.Errorf("once visible, the release is found: %v", ids(both))
	}
}

func TestFiltersSortNearAndSnippets(t *testing.T) {
	x, _ := build(t)
	ctx := context.Background()
	res, _ := x.Search(ctx, catalogue.SearchQuery{Filters: map[string][]string{catalogue.FacetKind: {catalogue.KindDataset}}, Sort: "updated"})
	if got := ids(res); len(got) != 2 || got[0] != "dataset:proms" {
		t.Errorf("datasets, most recently updated first: %v", got)
	}
	res, _ = x.Search(ctx, catalogue.SearchQuery{Filters: map[string][]string{catalogue.FacetTopic: {"Mortality", "Surgery"}}})
	if res.Total != 2 {
		t.Errorf("topic filter: %v", ids(res))
	}
	near, _ := x.Search(ctx, catalogue.SearchQuery{Near: &catalogue.LatLon{Lat: 54.565, Lon: -1.315}, NearKM: 50})
	if got := ids(near); len(got) != 2 || got[0] != "organisation:A81001" && got[0] != "organisation:A81002" || near.Hits[0].DistanceKM > 2 {
		t.Errorf("near Stockton: %v %+v", got, near.Hits)
	}
	hl, _ := x.Search(ctx, catalogue.SearchQuery{Text: "knee replacement", Highlight: true})
	if len(hl.Hits) == 0 || len(hl.Hits[0].Marks) != 2 {
		t.Fatalf("snippet: %+v", hl.Hits)
	}
	h := hl.Hits[0]
	if got := h.Snippet[h.Marks[0][0]:h.Marks[0][1]]; got != "knee" {
		t.Errorf("first mark %q in %q", got, h.Snippet)
	}
}

func TestBadQueriesAreRefusedClearly(t *testing.T) {
	x, _ := build(t)
	ctx := context.Background()
	for _, q := range []string{"\xff\xfe", strings.Repeat("a", MaxQueryBytes+1)} {
		if _, err := x.Search(ctx, catalogue.SearchQuery{Text: q}); !errors.Is(err, ErrQuery) {
			t.Errorf("%.20q: %v", q, err)
		}
	}
	for _, q := range []string{`title:"x" AND (y OR z)`, "+-&&||!(){}[]^\"~*?:\\/", "   ", "日本語"} {
		if _, err := x.Search(ctx, catalogue.SearchQuery{Text: q, From: 1 << 20}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}

func TestHashesAndRebuild(t *testing.T) {
	x, dir := build(t)
	ctx := context.Background()
	h, _ := x.Hashes(ctx)
	if len(h) != 5 || h["dataset:shmi"] != Hash(testDocs[4]) {
		t.Errorf("hashes: %v", h)
	}
	if err := x.Delete(ctx, []string{"dataset:shmi", "release:7"}); err != nil {
		t.Fatal(err)
	}
	if h, _ := x.Hashes(ctx); len(h) != 4 {
		t.Errorf("after delete: %v", h)
	}
	x.Close()
	// Reopened, it knows the same.
	y, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := y.Hashes(ctx); len(h) != 4 || y.hidden(nil)[0] != 8 || len(y.hidden(nil)) != 1 {
		t.Errorf("reopened: %v %v", h, y.hidden(nil))
	}
	// Documents gives back every document as it was put, by id.
	docs, err := y.Documents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []catalogue.SearchDocument
	for _, d := range testDocs {
		if d.ID != "dataset:shmi" && d.ID != "release:7" {
			want = append(want, d)
		}
	}
	slices.SortFunc(want, func(a, b catalogue.SearchDocument) int { return strings.Compare(a.ID, b.ID) })
	if !reflect.DeepEqual(normalisedDocs(docs), normalisedDocs(want)) {
		t.Errorf("documents:\n%+v\nwant\n%+v", docs, want)
	}
	y.Close()
	// A missing, unfinished or damaged index must be rebuilt.
	if _, err := Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrRebuild) {
		t.Errorf("missing: %v", err)
	}
	os.Remove(filepath.Join(dir, completeMarker))
	if _, err := Open(dir); !errors.Is(err, ErrRebuild) {
		t.Errorf("unfinished: %v", err)
	}
	// An index of an earlier format (its marker a time alone) is rebuilt.
	os.WriteFile(filepath.Join(dir, completeMarker), []byte("2026-12-01T09:00:00Z\n"), 0o640)
	if _, err := Open(dir); !errors.Is(err, ErrRebuild) || !strings.Contains(err.Error(), "another version") {
		t.Errorf("earlier format: %v", err)
	}
	os.WriteFile(filepath.Join(dir, completeMarker), []byte(indexFormat+"\n"), 0o640)
	os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{not json"), 0o640)
	if _, err := Open(dir); !errors.Is(err, ErrRebuild) {
		t.Errorf("damaged: %v", err)
	}
	// A failed build leaves the old folder as it was.
	if _, err := Create(ctx, dir, func(context.Context, *Index) error { return errors.New("boom") }); err == nil {
		t.Error("a failed build succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err != nil {
		t.Errorf("a failed build touched the old index: %v", err)
	}
}

// Every facet counts the hits' values, from the one field that holds
// them all, and lists at most facetCountsShown values, the most counted
// first (ties by value).
func TestFacetCountsEveryFacet(t *testing.T) {
	x, _ := build(t)
	ctx := context.Background()
	res, err := x.Search(ctx, catalogue.SearchQuery{Visible: []int64{7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]catalogue.FacetCount{
		catalogue.FacetKind:      {{Value: catalogue.KindOrganisation, Count: 3}, {Value: catalogue.KindDataset, Count: 2}, {Value: catalogue.KindRelease, Count: 2}},
		catalogue.FacetPublisher: {{Value: "HSCIC", Count: 3}, {Value: "NHS Digital", Count: 1}},
		catalogue.FacetTopic:     {{Value: "Mortality", Count: 1}, {Value: "Patient outcomes", Count: 1}, {Value: "Surgery", Count: 1}},
		catalogue.FacetStatus:    {{Value: "published", Count: 2}},
		catalogue.FacetOrgType:   {{Value: "gp-practice", Count: 2}, {Value: "nhs-trust", Count: 1}},
		catalogue.FacetLicence:   nil, catalogue.FacetFrequency: nil, catalogue.FacetGranularity: nil, catalogue.FacetRegion: nil,
	}
	if !reflect.DeepEqual(res.Facets, want) {
		t.Errorf("facets:\n%v\nwant\n%v", res.Facets, want)
	}
	filtered, _ := x.Search(ctx, catalogue.SearchQuery{Text: "SHMI", Visible: []int64{7, 8}})
	if got := filtered.Facets[catalogue.FacetPublisher]; !reflect.DeepEqual(got, []catalogue.FacetCount{{Value: "HSCIC", Count: 3}}) {
		t.Errorf("publishers of the hits for SHMI: %v", got)
	}

	var many []catalogue.SearchDocument
	for i := range facetCountsShown + 10 {
		many = append(many, catalogue.SearchDocument{ID: fmt.Sprintf("dataset:%d", i), Kind: catalogue.KindDataset,
			Title: "Dataset", Publisher: fmt.Sprintf("Publisher %03d", i%(facetCountsShown+5))})
	}
	y, err := Create(ctx, filepath.Join(t.TempDir(), "search"), func(ctx context.Context, y *Index) error { return y.Put(ctx, many) })
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	res, _ = y.Search(ctx, catalogue.SearchQuery{})
	pubs := res.Facets[catalogue.FacetPublisher]
	if len(pubs) != facetCountsShown || pubs[0] != (catalogue.FacetCount{Value: "Publisher 000", Count: 2}) ||
		pubs[5] != (catalogue.FacetCount{Value: "Publisher 005", Count: 1}) {
		t.Errorf("%d publishers listed, from %v", len(pubs), pubs[:min(len(pubs), 6)])
	}
}

// normalisedDocs makes documents comparable after a JSON round trip
// (instants in UTC).
func normalisedDocs(ds []catalogue.SearchDocument) []catalogue.SearchDocument {
	out := slices.Clone(ds)
	for i := range out {
		out[i].Updated = out[i].Updated.UTC()
	}
	return out
}

// A built index is one segment, however many batches filled it: every
// query visits every segment.
func TestCreateMergesIntoOneSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x, err := Create(context.Background(), dir, func(ctx context.Context, x *Index) error {
		for batch := range 8 {
			var docs []catalogue.SearchDocument
			for i := range 300 {
				docs = append(docs, catalogue.SearchDocument{ID: fmt.Sprintf("dataset:d%d-%d", batch, i), Kind: catalogue.KindDataset,
					Title: fmt.Sprintf("Dataset %d of batch %d", i, batch), Publisher: "NHS Digital"})
			}
			if err := x.Put(ctx, docs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.segments(); err != nil || n != 1 {
		t.Errorf("the built index has %d segments (%v), want 1", n, err)
	}
	if n, err := x.Count(); err != nil || n != 2400 {
		t.Errorf("the built index holds %d documents (%v), want 2400", n, err)
	}
}
