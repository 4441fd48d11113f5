package publisher

import (
	"context"
	"encoding/json"
	"iter"
	"slices"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// Publishes is what a release will publish, for the people who review it
// before it is public: its indicators as the public pages will show them
// (the observations stored at submission, with their one verdict), the
// first rows of each public file, and the release it replaces, whose rows
// the workspace compares cell by cell.
type Publishes struct {
	Indicators []indicators.IndicatorView
	Samples    []FileSample
	// Base is the release this one replaces: the one it corrects, or
	// else its dataset's newest published version before it (nil when
	// there is none).
	Base *catalogue.Release
	// Rows reads a public file of the release or of Base, and nothing
	// else.
	Rows func(ctx context.Context, release int64, file string) iter.Seq2[datasets.StoredRow, error]
}

// FileSample is the first rows of a public file, suppressed cells marked.
type FileSample struct {
	Name   string
	Fields []string
	Rows   [][]SampleCell
	Total  int64 // rows in the whole file
}

// SampleCell is one cell of a sample.
type SampleCell struct {
	Text       string
	Suppressed bool // a suppression marker the schema declares
}

// sampleRows is how many rows of each public file a reviewer sees first.
const sampleRows = 10

// Publishes returns what release releaseID will publish, to someone who
// may see the release in the workspace (as Detail).
func (s *Service) Publishes(ctx context.Context, actor Actor, releaseID int64) (Publishes, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Publishes{}, err
	}
	if err := s.canSee(ctx, actor, r); err != nil {
		return Publishes{}, err
	}
	var p Publishes
	if p.Base, err = s.replaces(ctx, r); err != nil {
		return p, err
	}
	readable := []int64{r.ID}
	if p.Base != nil {
		readable = append(readable, p.Base.ID)
	}
	visible := datasets.NewVisible(readable...)
	p.Rows = func(ctx context.Context, release int64, file string) iter.Seq2[datasets.StoredRow, error] {
		if !slices.Contains(readable, release) {
			return func(yield func(datasets.StoredRow, error) bool) { yield(datasets.StoredRow{}, catalogue.ErrNotFound) }
		}
		return s.rows.Rows(ctx, visible, datasets.RowQuery{File: datasets.FileRef{Release: release, File: file}})
	}
	if p.Indicators, err = s.releaseIndicators(ctx, r); err != nil {
		return p, err
	}
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		sample, err := s.sample(ctx, r, f)
		if err != nil {
			return p, err
		}
		p.Samples = append(p.Samples, sample)
	}
	return p, nil
}

// replaces returns the release r replaces: the one it corrects, or its
// dataset's newest published (or superseded) version before it.
func (s *Service) replaces(ctx context.Context, r catalogue.Release) (*catalogue.Release, error) {
	if r.Corrects.ID != 0 {
		base, err := s.release(ctx, r.Corrects.ID)
		if err != nil {
			return nil, err
		}
		return &base, nil
	}
	all, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(), DatasetID: r.DatasetID})
	if err != nil {
		return nil, err
	}
	var best *catalogue.Release
	for _, o := range all {
		if o.Version >= r.Version || (o.State != catalogue.StatePublished && o.State != catalogue.StateSuperseded) {
			continue
		}
		if best == nil || o.Version > best.Version {
			o := o
			best = &o
		}
	}
	if best == nil {
		return nil, nil
	}
	full, err := s.release(ctx, best.ID)
	if err != nil {
		return nil, err
	}
	return &full, nil
}

// releaseIndicators reads the indicators release r defines, from r alone.
func (s *Service) releaseIndicators(ctx context.Context, r catalogue.Release) ([]indicators.IndicatorView, error) {
	if s.observations == nil {
		return nil, nil
	}
	visible := datasets.NewVisible(r.ID)
	defs, err := s.observations.Definitions(ctx, visible)
	if err != nil {
		return nil, err
	}
	var out []indicators.IndicatorView
	for _, def := range defs {
		view, err := indicators.ReadIndicator(ctx, s.observations, visible, def)
		if err != nil {
			return nil, err
		}
		out = append(out, view)
	}
	return out, nil
}

// sample reads the first rows of a public file of r.
func (s *Service) sample(ctx context.Context, r catalogue.Release, f catalogue.File) (FileSample, error) {
	sample := FileSample{Name: f.Name, Total: f.Rows}
	var res datasets.Resource
	if err := json.Unmarshal(f.Resource, &res); err != nil {
		return sample, err
	}
	sample.Fields = res.Schema.FieldNames()
	markers := make([][]string, len(res.Schema.Fields))
	for i, field := range res.Schema.Fields {
		markers[i] = field.Suppressed
	}
	for row, err := range s.rows.Rows(ctx, datasets.NewVisible(r.ID), datasets.RowQuery{File: datasets.FileRef{Release: r.ID, File: f.Name}}) {
		if err != nil {
			return sample, err
		}
		cells := make([]SampleCell, len(row.Cells))
		for i, text := range row.Cells {
			cells[i] = SampleCell{Text: text, Suppressed: i < len(markers) && slices.Contains(markers[i], text)}
		}
		sample.Rows = append(sample.Rows, cells)
		if len(sample.Rows) == sampleRows {
			break
		}
	}
	return sample, nil
}
