package site

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/indicators"
)

// feedbackByOrganisation is a working in-memory AreaFeedback.
type feedbackByOrganisation map[string][]feedback.Distribution

func (f feedbackByOrganisation) Distributions(_ context.Context, org string) ([]feedback.Distribution, error) {
	return f[org], nil
}

// The pack pools feedback per source over the area's organisations, and
// the same data gives the same bytes, stamped with the newest source's
// publication instant.
func TestAreaPackWithFeedback(t *testing.T) {
	co := feedback.Source{Name: "care-opinion", Title: "Care Opinion", Homepage: "https://www.careopinion.org.uk/"}
	quiet := feedback.Source{Name: "quiet", Title: "Quiet"}
	fb := feedbackByOrganisation{
		"A81001": {{Source: co, Stars: [5]int{1, 0, 0, 2, 3}, Ratings: 6, Items: 7}, {Source: quiet}},
		"A81002": {{Source: co, Stars: [5]int{0, 1, 0, 0, 1}, Ratings: 2, Items: 2}},
		"Z99999": {{Source: co, Stars: [5]int{9, 9, 9, 9, 9}, Ratings: 45, Items: 45}}, // not in the area
	}
	pooled, err := areaFeedback(context.Background(), fb, []string{"A81001", "A81002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pooled) != 1 || pooled[0].Stars != [5]int{1, 1, 0, 2, 4} || pooled[0].Ratings != 8 || pooled[0].Items != 9 {
		t.Fatalf("pooled feedback %+v, want one source with stars 1,1,0,2,4, 8 ratings, 9 items", pooled)
	}
	v, lo, hi, eng := 68.5, 66.4, 70.5, 68.4
	published := time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)
	d := areaData{Area: catalogue.Organisation{Code: "QHM", Type: catalogue.TypeICB}, Name: "NHS North East and North Cumbria ICB",
		Indicators: []indicators.AreaIndicator{{Definition: indicators.ReleasedDefinition{Definition: indicators.Definition{ID: "cancer-62-day", Title: "62 days"}},
			Period: "January 2026", Value: &v, Lower95: &lo, Upper95: &hi, England: &eng, Comparison: indicators.Similar, Organisations: 8, Dataset: "cwt", Version: 1}},
		Feedback: pooled, Generated: published,
		Sources: []areaSource{{Dataset: "cwt", Title: "Cancer waiting times", Publisher: "NHS England", Version: 1, Published: published.Format(time.RFC3339),
			Attribution: "Source: NHS England. Contains public sector information licensed under the Open Government Licence v3.0."}}}
	var one, two bytes.Buffer
	if err := writeAreaPack(&one, "Candour", d); err != nil {
		t.Fatal(err)
	}
	if err := writeAreaPack(&two, "Candour", d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("the same area data gave two different packs")
	}
	z, err := zip.NewReader(bytes.NewReader(one.Bytes()), int64(one.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var names []string
	for _, f := range z.File {
		if !f.Modified.Equal(published) {
			t.Errorf("%s stamped %s, want the newest publication %s", f.Name, f.Modified, published)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name], names = string(b), append(names, f.Name)
	}
	if want := []string{"README.md", "metadata.json", "indicators.csv", "organisations.csv", "feedback.csv"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if !strings.Contains(files["feedback.csv"], "care-opinion,Care Opinion,https://www.careopinion.org.uk/,9,8,1,1,0,2,4,3.88") {
		t.Errorf("feedback.csv:\n%s", files["feedback.csv"])
	}
	if !strings.Contains(files["indicators.csv"], "QHM,cancer-62-day,62 days,January 2026,68.5,66.4,70.5,,,,,68.4,similar,Similar,8,0,,,cwt,1") {
		t.Errorf("indicators.csv:\n%s", files["indicators.csv"])
	}
	if !strings.Contains(files["metadata.json"], `"generated": "2026-02-12T09:30:00Z"`) || !strings.Contains(files["metadata.json"], "Open Government Licence v3.0") {
		t.Errorf("metadata.json:\n%s", files["metadata.json"])
	}
}
