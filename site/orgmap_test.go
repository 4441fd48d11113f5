package site

import (
	"math"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
)

func TestDistanceKM(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b catalogue.LatLon
		want float64
	}{
		{"one degree along the equator", catalogue.LatLon{Lat: 0, Lon: 0}, catalogue.LatLon{Lat: 0, Lon: 1}, 111.195},
		{"the same place", catalogue.LatLon{Lat: 54.5, Lon: -1.3}, catalogue.LatLon{Lat: 54.5, Lon: -1.3}, 0},
		{"one degree of latitude", catalogue.LatLon{Lat: 53, Lon: -1.5}, catalogue.LatLon{Lat: 54, Lon: -1.5}, 111.195},
	} {
		if got := distanceKM(c.a, c.b); math.Abs(got-c.want) > 0.001 {
			t.Errorf("%s: %.4f km, want %.3f", c.name, got, c.want)
		}
	}
}

// The map's colours are the stored verdicts through polarity, in a fixed
// order, or a rating's categories from best to worst; each organisation
// is in exactly one group.
func TestMapGroups(t *testing.T) {
	row := func(c indicators.Comparison, category string) mapRow {
		return mapRow{Observation: indicators.Observation{Comparison: c, Category: category}}
	}
	shmi := indicators.Definition{Method: indicators.MethodOERatio, Polarity: indicators.LowerIsBetter}
	rating := indicators.Definition{Method: indicators.MethodCategory, Polarity: indicators.HigherIsBetter,
		Categories: []string{"Outstanding", "Good", "Requires improvement", "Inadequate"}}
	rurality := indicators.Definition{Method: indicators.MethodCategory, Polarity: indicators.NoJudgement, Categories: []string{"Urban", "Rural"}}
	for _, c := range []struct {
		name string
		d    indicators.Definition
		rows []mapRow
		want []mapGroup
	}{
		{"funnel verdicts, coloured through polarity (more deaths than expected is worse)", shmi,
			[]mapRow{row(indicators.AsExpected, ""), row(indicators.HigherThanExpected, ""), row(indicators.AsExpected, ""), row(indicators.NotCompared, "")},
			[]mapGroup{{"higher-than-expected", "Higher than expected", nhsRed, 1}, {"as-expected", "As expected", nhsGrey, 2}, {"not-compared", "Not compared", "#d8dde0", 1}}},
		{"interval verdicts, higher is better", indicators.Definition{Method: indicators.MethodWilson, Polarity: indicators.HigherIsBetter},
			[]mapRow{row(indicators.Worse, ""), row(indicators.Better, ""), row(indicators.Similar, "")},
			[]mapGroup{{"better", "Better", nhsGreen, 1}, {"similar", "Similar", nhsGrey, 1}, {"worse", "Worse", nhsRed, 1}}},
		{"a rating, best to worst", rating,
			[]mapRow{row(indicators.NotCompared, "Inadequate"), row(indicators.NotCompared, "Good"), row(indicators.NotCompared, "Good")},
			[]mapGroup{{"Good", "Good", "#41b6e6", 2}, {"Inadequate", "Inadequate", nhsRed, 1}}},
		{"categories without a judgement", rurality,
			[]mapRow{row(indicators.NotCompared, "Rural"), row(indicators.NotCompared, "Urban")},
			[]mapGroup{{"Urban", "Urban", nhsBlue, 1}, {"Rural", "Rural", "#41b6e6", 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := mapGroups(c.d, c.rows)
			if len(got) != len(c.want) {
				t.Fatalf("groups %+v, want %+v", got, c.want)
			}
			total := 0
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("group %d: %+v, want %+v", i, got[i], c.want[i])
				}
				total += got[i].N
			}
			if total != len(c.rows) {
				t.Errorf("%d organisations in the groups, %d on the map", total, len(c.rows))
			}
		})
	}
}

func TestMapSummary(t *testing.T) {
	d := indicators.Definition{Title: "SHMI", Method: indicators.MethodOERatio, Polarity: indicators.LowerIsBetter}
	p := mapPage{Definition: d, Period: "2013", Near: "LS1", KM: 30, NotPlaced: 2,
		Rows: []mapRow{{Observation: indicators.Observation{Comparison: indicators.AsExpected}}}}
	p.Groups = mapGroups(d, p.Rows)
	if got, want := mapSummary(p), "1 organisation with a value for SHMI (2013) is within 30 km of LS1, by verdict: as expected 1; 2 more could not be placed."; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	p.Rows = nil
	if got := mapSummary(p); !strings.HasPrefix(got, "No organisation") {
		t.Errorf("an empty map: %q", got)
	}
}
