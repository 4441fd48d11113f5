package catalogue

import (
	"context"
	"fmt"
	"time"
)

// Public is what public code (the site, feeds, APIs) holds instead of a
// store: it hands out published views and nothing else.
type Public struct {
	r   Reader
	now func() time.Time
}

// NewPublic returns the public side of the catalogue r, using now for the
// current instant.
func NewPublic(r Reader, now func() time.Time) *Public {
	return &Public{r: r, now: now}
}

// View returns the published view at the current instant.
func (p *Public) View() *View { return Published(p.r, p.now()) }

// View is the catalogue as the public sees it at one instant. It is the
// only read path for public code: every method asks the store with the
// view's visibility, so drafts, unpublished content and organisations only
// drafts name are never returned.
type View struct {
	r   Reader
	vis Visibility
}

// Published returns the published view of r at instant at. It is the one
// function through which public reads of the catalogue pass.
func Published(r Reader, at time.Time) *View {
	return &View{r: r, vis: publicAt(at)}
}

// At is the view's instant.
func (v *View) At() time.Time { return v.vis.at }

// Datasets returns one page of listed datasets.
func (v *View) Datasets(ctx context.Context, q DatasetQuery) (DatasetPage, error) {
	q.Visibility = v.vis
	return v.r.ListDatasets(ctx, q)
}

// Dataset returns a listed dataset, or ErrNotFound.
func (v *View) Dataset(ctx context.Context, slug string) (Dataset, error) {
	return v.r.GetDataset(ctx, slug, v.vis)
}

// Releases returns a dataset's listed releases, newest version first.
func (v *View) Releases(ctx context.Context, datasetID int64) ([]Release, error) {
	return v.r.ListReleases(ctx, ReleaseQuery{Visibility: v.vis, DatasetID: datasetID})
}

// LatestReleases returns the n most recently published releases.
func (v *View) LatestReleases(ctx context.Context, n int) ([]Release, error) {
	return v.r.ListReleases(ctx, ReleaseQuery{Visibility: v.vis, Newest: true, Limit: n})
}

// ReleasesMentioning returns the listed releases that use an organisation's
// code, newest first.
func (v *View) ReleasesMentioning(ctx context.Context, code string) ([]Release, error) {
	return v.r.ListReleases(ctx, ReleaseQuery{Visibility: v.vis, Mentions: code, Newest: true})
}

// Release returns a listed release with its public files, or ErrNotFound.
// A withdrawn release comes back with ContentVisible false and no files.
func (v *View) Release(ctx context.Context, datasetSlug string, version int) (Release, error) {
	return v.r.GetRelease(ctx, datasetSlug, version, v.vis)
}

// File returns a public file of a release whose content is visible, or
// ErrNotFound.
func (v *View) File(ctx context.Context, datasetSlug string, version int, name string) (Release, File, error) {
	r, err := v.Release(ctx, datasetSlug, version)
	if err != nil {
		return Release{}, File{}, err
	}
	for _, f := range r.Files {
		if f.Name == name && f.Role == RolePublic && r.ContentVisible {
			return r, f, nil
		}
	}
	return Release{}, File{}, fmt.Errorf("%w: file %q in %s version %d", ErrNotFound, name, datasetSlug, version)
}

// ContentVisibleReleases returns the ids of releases whose content is
// public in this view: the filter public reads of derived stores (rows,
// observations, search) must pass on.
func (v *View) ContentVisibleReleases(ctx context.Context) ([]int64, error) {
	return v.r.ContentVisibleReleases(ctx, v.vis)
}

// Publishers returns the publishers of listed datasets.
func (v *View) Publishers(ctx context.Context) ([]Publisher, error) {
	return v.r.ListPublishers(ctx, v.vis)
}

// Organisation returns a visible organisation, or ErrNotFound.
func (v *View) Organisation(ctx context.Context, code string) (Organisation, error) {
	return v.r.GetOrganisation(ctx, code, v.vis)
}

// OrganisationsByCode returns the visible organisations among codes, by
// code, in one read (a table of many organisations' rows).
func (v *View) OrganisationsByCode(ctx context.Context, codes []string) (map[string]Organisation, error) {
	orgs, err := v.r.GetOrganisations(ctx, codes, v.vis)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Organisation, len(orgs))
	for _, o := range orgs {
		out[o.Code] = o
	}
	return out, nil
}

// Places returns where the visible organisations among codes sit, by
// code, in one light read (for filters over many organisations).
func (v *View) Places(ctx context.Context, codes []string) (map[string]Place, error) {
	places, err := v.r.GetPlaces(ctx, codes, v.vis)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Place, len(places))
	for _, p := range places {
		out[p.Code] = p
	}
	return out, nil
}

// Organisations returns one page of visible organisations.
func (v *View) Organisations(ctx context.Context, q OrganisationQuery) (OrganisationPage, error) {
	q.Visibility = v.vis
	return v.r.ListOrganisations(ctx, q)
}

// OrganisationCounts counts visible organisations by type and status.
func (v *View) OrganisationCounts(ctx context.Context) ([]OrganisationCount, error) {
	return v.r.CountOrganisations(ctx, v.vis)
}

// Calendar returns the announced release calendar: every entry announced
// by the view's instant, with its status as the public may know it.
func (v *View) Calendar(ctx context.Context) ([]CalendarEntry, error) {
	return v.r.ListCalendar(ctx, CalendarQuery{Visibility: v.vis})
}

// DatasetCalendar returns a dataset's announced calendar entries.
func (v *View) DatasetCalendar(ctx context.Context, datasetID int64) ([]CalendarEntry, error) {
	return v.r.ListCalendar(ctx, CalendarQuery{Visibility: v.vis, DatasetID: datasetID})
}

// Outcodes returns every postcode district centre (reference data, public
// as it is).
func (v *View) Outcodes(ctx context.Context) (map[string]LatLon, error) { return v.r.Outcodes(ctx) }
