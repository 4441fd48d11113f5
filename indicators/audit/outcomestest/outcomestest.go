// Package outcomestest is the contract suite every audit.Store
// implementation passes.
package outcomestest

import (
	"context"
	"slices"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
)

func ip(n int) *int         { return &n }
func fp(x float64) *float64 { return &x }

func outcome(measure string, level audit.Level, provider, team, code string, status audit.Status) audit.Outcome {
	o := audit.Outcome{Measure: measure, Period: "2024/25", Level: level, Provider: provider, Team: team, Code: code, Name: "Unit " + code,
		Cases: ip(50), Observed: ip(5), Expected: fp(4.5), Status: status}
	if status != audit.NotClassified {
		v := 5 / 4.5
		o.Value, o.Ratio = &v, &v
		o.Limits = &audit.Limits{Lower95: 0.4, Upper95: 1.9, Lower998: 0.2, Upper998: 2.5}
	} else {
		o.Reason = "Fewer than 20 cases"
	}
	return o
}

// Run checks a fresh, empty store made by open.
func Run(t *testing.T, open func(t *testing.T) audit.Store) {
	ctx := context.Background()
	def := audit.Definition{ID: "demo-audit", Name: "Demo audit", Measures: []audit.Measure{{ID: "deaths", Title: "Deaths"}}}
	write := func(t *testing.T, s audit.Store, release int64, outcomes ...audit.Outcome) {
		t.Helper()
		a := audit.Released{Release: release, Dataset: "demo-audit-data", Version: int(release), Definition: def,
			Funnels: []audit.Funnel{{Measure: "deaths", Period: "2024/25", Level: audit.Hospital, Target: 1, Units: len(outcomes),
				Dispersion: audit.Dispersion{Phi: 1.3, Tau2: 0.01, Units: 3, Applied: true}}}}
		if err := s.WriteAudit(ctx, a, outcomes); err != nil {
			t.Fatal(err)
		}
	}
	query := func(t *testing.T, s audit.Store, q audit.Query) []audit.Outcome {
		t.Helper()
		out, err := s.Outcomes(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Run("reads only visible releases", func(t *testing.T) {
		s := open(t)
		write(t, s, 1, outcome("deaths", audit.Hospital, "H1", "", "H1", audit.Within))
		write(t, s, 2, outcome("deaths", audit.Hospital, "H1", "", "H1", audit.Alarm), outcome("deaths", audit.Hospital, "H2", "", "H2", audit.NotClassified))
		if got := query(t, s, audit.Query{Visible: datasets.NewVisible()}); len(got) != 0 {
			t.Errorf("an empty visible set read %d outcomes", len(got))
		}
		if got, err := s.Audits(ctx, datasets.NewVisible()); err != nil || len(got) != 0 {
			t.Errorf("an empty visible set read audits %v %v", got, err)
		}
		got := query(t, s, audit.Query{Visible: datasets.NewVisible(1), Code: "H1"})
		if len(got) != 1 || got[0].Release != 1 || got[0].Status != audit.Within || got[0].Audit != "demo-audit" {
			t.Errorf("release 1, H1: %+v", got)
		}
		both := query(t, s, audit.Query{Visible: datasets.NewVisible(1, 2), Code: "H1"})
		if len(both) != 2 {
			t.Errorf("both releases: %+v", both)
		}
		audits, err := s.Audits(ctx, datasets.NewVisible(2))
		if err != nil || len(audits) != 1 || audits[0].Release != 2 || audits[0].Definition.ID != "demo-audit" || audits[0].Version != 2 ||
			len(audits[0].Funnels) != 1 || !audits[0].Funnels[0].Dispersion.Applied {
			t.Errorf("audits: %+v %v", audits, err)
		}
	})
	t.Run("outcomes round-trip with nil values", func(t *testing.T) {
		s := open(t)
		in := outcome("deaths", audit.Consultant, "H1", "T1", "C1", audit.NotClassified)
		in.Cases, in.Observed, in.Expected = nil, nil, nil
		write(t, s, 3, in, outcome("deaths", audit.Consultant, "H2", "T9", "C1", audit.Alert))
		got := query(t, s, audit.Query{Visible: datasets.NewVisible(3), Level: audit.Consultant, Code: "C1"})
		if len(got) != 2 || got[0].Provider != "H1" || got[0].Cases != nil || got[0].Value != nil || got[0].Reason == "" ||
			got[1].Provider != "H2" || got[1].Limits == nil || *got[1].Cases != 50 || got[1].Status != audit.Alert {
			t.Errorf("consultant at two providers: %+v", got)
		}
	})
	t.Run("filters", func(t *testing.T) {
		s := open(t)
		write(t, s, 4,
			outcome("deaths", audit.Hospital, "H1", "", "H1", audit.Alarm),
			outcome("deaths", audit.Team, "H1", "T1", "T1", audit.Within),
			outcome("deaths", audit.Consultant, "H1", "T1", "C1", audit.Alert),
			outcome("deaths", audit.Hospital, "H2", "", "H2", audit.Alert),
			outcome("returns", audit.Hospital, "H2", "", "H2", audit.Within))
		v := datasets.NewVisible(4)
		for name, tc := range map[string]struct {
			q    audit.Query
			want int
		}{
			"flagged":               {audit.Query{Visible: v, Flagged: true}, 3},
			"flagged at a provider": {audit.Query{Visible: v, Flagged: true, Provider: "H1"}, 2},
			"a level":               {audit.Query{Visible: v, Level: audit.Hospital}, 3},
			"a measure":             {audit.Query{Visible: v, Measure: "returns"}, 1},
			"a release":             {audit.Query{Visible: v, Release: 4, Audit: "demo-audit"}, 5},
			"a release not visible": {audit.Query{Visible: datasets.NewVisible(5), Release: 4}, 0},
			"another audit":         {audit.Query{Visible: v, Audit: "other"}, 0},
			"a period":              {audit.Query{Visible: v, Period: "2023/24"}, 0},
		} {
			if got := query(t, s, tc.q); len(got) != tc.want {
				t.Errorf("%s: %d outcomes, want %d", name, len(got), tc.want)
			}
		}
		// Hospitals come before teams before consultants.
		all := query(t, s, audit.Query{Visible: v, Measure: "deaths", Provider: "H1"})
		if len(all) != 3 || all[0].Level != audit.Hospital || all[1].Level != audit.Team || all[2].Level != audit.Consultant {
			t.Errorf("order: %+v", all)
		}
	})
	t.Run("codes keep their leading zeros, names their letters, reads their order", func(t *testing.T) {
		s := open(t)
		in := []audit.Outcome{
			outcome("z-returns", audit.Hospital, "0RR8", "", "0RR8", audit.Within),
			outcome("deaths", audit.Consultant, "0RR8", "Tëam ß", "0012345", audit.Alert),
			outcome("deaths", audit.Hospital, "0RR8", "", "0RR8", audit.Alarm),
			outcome("deaths", audit.Team, "0RR8", "Tëam ß", "Tëam ß", audit.Within),
		}
		in[1].Name = "Dr Zoë Ní Bhriain «lead»"
		for range 2 { // a retried write keeps one copy
			write(t, s, 7, in...)
		}
		got := query(t, s, audit.Query{Visible: datasets.NewVisible(7)})
		var order []string
		for _, o := range got {
			order = append(order, o.Measure+" "+string(o.Level)+" "+o.Code)
		}
		want := []string{"deaths hospital 0RR8", "deaths team Tëam ß", "deaths consultant 0012345", "z-returns hospital 0RR8"}
		if !slices.Equal(order, want) {
			t.Errorf("read in the order %q, want (measure, period, hospital before team before consultant, …) %q", order, want)
		}
		one := query(t, s, audit.Query{Visible: datasets.NewVisible(7), Code: "0012345"})
		if len(one) != 1 || one[0].Name != "Dr Zoë Ní Bhriain «lead»" || one[0].Team != "Tëam ß" {
			t.Errorf("consultant 0012345: %+v", one)
		}
		if none := query(t, s, audit.Query{Visible: datasets.NewVisible(7), Code: "12345"}); len(none) != 0 {
			t.Errorf("code 12345 (not 0012345): %+v", none)
		}
		if none := query(t, s, audit.Query{Visible: datasets.NewVisible(7), Provider: "O'Brien' OR '1'='1"}); len(none) != 0 {
			t.Errorf("a provider with quotes: %+v", none)
		}
	})
	t.Run("rewrite replaces, delete removes", func(t *testing.T) {
		s := open(t)
		write(t, s, 6, outcome("deaths", audit.Hospital, "H1", "", "H1", audit.Within))
		write(t, s, 6, outcome("deaths", audit.Hospital, "H3", "", "H3", audit.Within))
		got := query(t, s, audit.Query{Visible: datasets.NewVisible(6)})
		if len(got) != 1 || got[0].Code != "H3" {
			t.Errorf("after a rewrite: %+v", got)
		}
		if err := s.DeleteRelease(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if got := query(t, s, audit.Query{Visible: datasets.NewVisible(6)}); len(got) != 0 {
			t.Errorf("after delete: %+v", got)
		}
		if a, _ := s.Audits(ctx, datasets.NewVisible(6)); len(a) != 0 {
			t.Errorf("audit after delete: %+v", a)
		}
	})
}
