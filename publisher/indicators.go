package publisher

import (
	"context"
	"fmt"
	"slices"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/publisher/disclosure"
)

// checkIndicators checks each indicator definition against the file it is
// computed from; problems name the definition and field.
func checkIndicators(defs []indicators.Definition, files []SubmittedFile) []FieldProblem {
	var out []FieldProblem
	for i, d := range defs {
		field := fmt.Sprintf("indicators[%d]", i)
		j := slices.IndexFunc(files, func(f SubmittedFile) bool { return f.Name() == d.File })
		if j < 0 {
			out = append(out, FieldProblem{Field: field + ".file", Message: fmt.Sprintf("indicator %s: the release has no file %q", d.ID, d.File)})
			continue
		}
		if err := d.Validate(files[j].Resource.Schema.FieldNames()); err != nil {
			out = append(out, FieldProblem{Field: field, Message: err.Error()})
		}
	}
	return out
}

// declaredAreas are the codes indicator definitions declare as areas
// rather than organisations: England's values and other areas.
func declaredAreas(defs []indicators.Definition) map[string]bool {
	out := map[string]bool{}
	for _, d := range defs {
		for _, c := range append(slices.Clone(d.Benchmark.EnglandValues), d.Benchmark.Areas...) {
			out[c] = true
		}
	}
	return out
}

// materialise computes a release's indicator observations from the public
// version of its files, and stores them with the definitions, tagged with
// the release (public only once the release is).
func (s *Service) materialise(ctx context.Context, r catalogue.Release, defs []indicators.Definition, public []disclosure.PublicFile) error {
	if len(defs) == 0 {
		return nil
	}
	if s.observations == nil {
		return fmt.Errorf("release %d ships indicators, but no observation store is configured", r.ID)
	}
	var tables []indicators.Table
	for _, p := range public {
		tables = append(tables, indicators.Table{Name: p.Name, Schema: p.Resource.Schema, Header: p.Header, Rows: p.Rows})
	}
	obs, sums, err := indicators.Compute(defs, tables, indicators.Period{Label: r.PeriodLabel, Start: r.PeriodStart.String()})
	if err != nil {
		return &Rejection{Fields: []FieldProblem{{Field: "indicators", Message: err.Error()}}}
	}
	// Recent trends and the latest period are not fixed here: they depend
	// on which periods are published, and are derived in period order
	// from the visible series when read (indicators.ReadIndicator).
	for i := range obs {
		obs[i].Dataset, obs[i].Version = r.Dataset.Slug, r.Version
	}
	if err := s.observations.WriteDefinitions(ctx, r.ID, defs); err != nil {
		return err
	}
	if err := s.observations.WriteSummaries(ctx, r.ID, sums); err != nil {
		return err
	}
	return s.observations.WriteObservations(ctx, r.ID, indicators.ObservationsOf(obs))
}
