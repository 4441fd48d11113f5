package indicators

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/candour/candour/datasets"
)

// Reading in period order. Observations are stored per release, but a
// series is ordered by the period it covers, never by when its release
// was submitted or published: a release for an earlier period published
// late takes its place in every series at once. Recent trends and the
// latest period depend on which releases are visible, so they are
// derived here, from the visible series, by the functions every surface
// reads through (BuildScorecard, ReadIndicator, ReadSeries): a
// publication changes them exactly when it changes what is visible, and
// the public never sees one page with the new period and another
// without. Storing them would mean rewriting other releases' rows in step
// with the publication's transaction, in another store.

// periodOrder is where a period sorts: its start date, else the start
// its label names when it is a financial year ("2022/23" or "2022-23":
// 1 April), a year ("2024"), a month ("2026-01", "January 2026"); else ""
// (such periods sort first, in release order).
func periodOrder(start, label string) string {
	if start != "" {
		return start
	}
	return startFromLabel(strings.TrimSpace(label))
}

var (
	financialYear = regexp.MustCompile(`^(\d{4})[/-](\d{2})$`)
	calendarYear  = regexp.MustCompile(`^\d{4}$`)
	yearMonth     = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
)

func startFromLabel(label string) string {
	if m := financialYear.FindStringSubmatch(label); m != nil {
		if y, _ := strconv.Atoi(m[1]); fmt.Sprintf("%02d", (y+1)%100) == m[2] {
			return m[1] + "-04-01"
		}
	}
	if calendarYear.MatchString(label) {
		return label + "-01-01"
	}
	if m := yearMonth.FindStringSubmatch(label); m != nil {
		return m[1] + "-" + m[2] + "-01"
	}
	if t, err := time.Parse("January 2006", label); err == nil {
		return t.Format(time.DateOnly)
	}
	return ""
}

// inPeriodOrder sorts items by period (then release) and keeps, for a
// period covered twice (a correction beside the release it superseded:
// the same start and label), only the newer release's. Periods without a
// known start keep release order. Items already in that order, as the
// store streams them, are returned as they are.
func inPeriodOrder[T any](items []T, key func(T) (start, label string, release int64)) []T {
	orders := make([]string, len(items))
	inOrder, run := true, 0 // run: where the current run of equal orders starts
	for i, x := range items {
		start, label, rel := key(x)
		orders[i] = periodOrder(start, label)
		if i == 0 || orders[i] != orders[i-1] {
			inOrder = inOrder && (i == 0 || orders[i] > orders[i-1])
			run = i
			continue
		}
		for _, y := range items[run:i] { // same order: later releases, other periods
			yStart, yLabel, yRel := key(y)
			if yRel >= rel || yStart == start && yLabel == label {
				inOrder = false
			}
		}
	}
	if inOrder {
		return items
	}
	idx := make([]int, len(items))
	newest := map[[2]string]int64{}
	for i, x := range items {
		idx[i] = i
		start, label, rel := key(x)
		k := [2]string{start, label}
		newest[k] = max(newest[k], rel)
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if oa, ob := orders[idx[a]], orders[idx[b]]; oa != ob {
			return oa < ob
		}
		_, _, ra := key(items[idx[a]])
		_, _, rb := key(items[idx[b]])
		return ra < rb
	})
	out := make([]T, 0, len(items))
	for _, i := range idx {
		if start, label, rel := key(items[i]); newest[[2]string{start, label}] == rel {
			out = append(out, items[i])
		}
	}
	return out
}

// InPeriodOrder returns one indicator's observations for one
// organisation in period order, keeping for a period covered twice only
// the newer release's observation.
func InPeriodOrder(obs []Observation) []Observation {
	return inPeriodOrder(obs, func(o Observation) (string, string, int64) { return o.PeriodStart, o.Period, o.Release })
}

// WithTrends gives every point of a series in period order the recent
// trend over the series up to it.
func WithTrends(d Definition, series []Observation) {
	pts := pointsOf(series)
	for i := range series {
		series[i].Trend, series[i].TrendReason = trendOf(d, pts[:i+1])
	}
}

func pointsOf(obs []Observation) []Point {
	pts := make([]Point, len(obs))
	for i, o := range obs {
		pts[i] = PointOf(o)
	}
	return pts
}

// InPeriodOrderPoints returns one indicator's points for one organisation
// in period order, keeping for a period covered twice only the newer
// release's point, as InPeriodOrder does with observations.
func InPeriodOrderPoints(pts []Point) []Point {
	return inPeriodOrder(pts, func(p Point) (string, string, int64) { return p.PeriodStart, p.Period, p.Release })
}

// PeriodsInOrder returns an indicator's summaries in period order, one a
// period (the newer release's when two cover it).
func PeriodsInOrder(sums []Summary) []Summary {
	return inPeriodOrder(sums, func(s Summary) (string, string, int64) { return s.PeriodStart, s.Period, s.Release })
}

// trendWindow is how many periods a recent trend looks back over.
const trendWindow = 5

// IndicatorView is one indicator across organisations in its latest
// visible period.
type IndicatorView struct {
	Definition ReleasedDefinition
	// Latest is the summary of the latest period (its release, period,
	// funnel and benchmark rows); Periods every visible period, in order.
	Latest  Summary
	Periods []Summary
	// Observations are the latest period's, one per organisation, with
	// their recent trends.
	Observations []Observation
}

// ReadIndicator reads an indicator's latest visible period: the summary
// and every organisation's observation, with recent trends from the
// periods before it. It reads the points of the last five periods (for
// the trends) and whole observations of the latest period only.
func ReadIndicator(ctx context.Context, store ObservationStore, visible datasets.Visible, def ReleasedDefinition) (IndicatorView, error) {
	return ReadIndicatorWhere(ctx, store, visible, def, nil)
}

// ReadIndicatorWhere is ReadIndicator for the organisations keep keeps
// (nil keeps every one): it is given the codes of those with an
// observation in the latest period and returns those to read, so that an
// indicator's table filtered to a region reads only the region's.
func ReadIndicatorWhere(ctx context.Context, store ObservationStore, visible datasets.Visible, def ReleasedDefinition,
	keep func(codes []string) ([]string, error)) (IndicatorView, error) {
	view := IndicatorView{Definition: def}
	sums, err := store.Summaries(ctx, visible, def.ID)
	if err != nil {
		return view, err
	}
	view.Periods = PeriodsInOrder(sums)
	if len(view.Periods) == 0 {
		return view, nil
	}
	view.Latest = view.Periods[len(view.Periods)-1]
	if !visible.Contains(view.Latest.Release) {
		return view, nil
	}
	recent := view.Periods[max(0, len(view.Periods)-trendWindow):]
	var ids []int64
	for _, s := range recent {
		if visible.Contains(s.Release) {
			ids = append(ids, s.Release)
		}
	}
	var orgs []string // nil: every one
	if keep != nil {
		codes, err := store.ObservedOrganisations(ctx, ObservationQuery{Visible: datasets.NewVisible(view.Latest.Release), Indicator: def.ID})
		if err != nil {
			return view, err
		}
		if orgs, err = keep(codes); err != nil {
			return view, err
		}
		if orgs == nil {
			orgs = []string{}
		}
	}
	bySeries, err := readPoints(ctx, store, ObservationQuery{Visible: datasets.NewVisible(ids...), Indicator: def.ID, Organisations: orgs})
	if err != nil {
		return view, err
	}
	type trend struct {
		trend Trend
		why   string
	}
	trends := map[string]trend{} // by organisation, of those whose series ends in the latest period
	for _, series := range bySeries {
		if last := series[len(series)-1]; last.Release == view.Latest.Release {
			t, why := trendOf(def.Definition, series)
			trends[last.Organisation] = trend{t, why}
		}
	}
	for o, err := range store.Observations(ctx, ObservationQuery{Visible: datasets.NewVisible(view.Latest.Release), Indicator: def.ID, Organisations: orgs}) {
		if err != nil {
			return view, err
		}
		if t, ok := trends[o.Organisation]; ok {
			o.Trend, o.TrendReason = t.trend, t.why
			view.Observations = append(view.Observations, o)
		}
	}
	sort.Slice(view.Observations, func(i, j int) bool { return view.Observations[i].Organisation < view.Observations[j].Organisation })
	return view, nil
}

// ReadSeries reads every visible period of an indicator (for one
// organisation, or all when org is ""), in period order per organisation,
// with recent trends.
func ReadSeries(ctx context.Context, store ObservationStore, visible datasets.Visible, def Definition, org string) ([]Observation, error) {
	bySeries, err := readSeries(ctx, store, ObservationQuery{Visible: visible, Indicator: def.ID, Organisation: org})
	if err != nil {
		return nil, err
	}
	var out []Observation
	for _, series := range bySeries {
		WithTrends(def, series)
		out = append(out, series...)
	}
	return out, nil
}

// readPoints groups the points q selects into series, one per indicator
// and organisation, each in period order, as readSeries does with
// observations.
func readPoints(ctx context.Context, store ObservationStore, q ObservationQuery) ([][]Point, error) {
	var all []Point
	for p, err := range store.Points(ctx, q) {
		if err != nil {
			return nil, err
		}
		all = append(all, p)
	}
	less := func(a, b Point) int {
		if c := strings.Compare(a.Indicator, b.Indicator); c != 0 {
			return c
		}
		return strings.Compare(a.Organisation, b.Organisation)
	}
	if !slices.IsSortedFunc(all, less) {
		slices.SortStableFunc(all, less)
	}
	var out [][]Point
	for start := 0; start < len(all); {
		end := start + 1
		for end < len(all) && less(all[start], all[end]) == 0 {
			end++
		}
		out = append(out, InPeriodOrderPoints(all[start:end:end]))
		start = end
	}
	return out, nil
}

// readSeries groups the observations q selects into series, one per
// indicator and organisation, each in period order, in the store's
// order of indicator and organisation. The store streams them grouped
// so (ObservationStore.Observations); a stream that is not is grouped
// here.
func readSeries(ctx context.Context, store ObservationStore, q ObservationQuery) ([][]Observation, error) {
	var all []Observation
	for o, err := range store.Observations(ctx, q) {
		if err != nil {
			return nil, err
		}
		all = append(all, o)
	}
	less := func(a, b Observation) int {
		if c := strings.Compare(a.Indicator, b.Indicator); c != 0 {
			return c
		}
		return strings.Compare(a.Organisation, b.Organisation)
	}
	if !slices.IsSortedFunc(all, less) {
		slices.SortStableFunc(all, less)
	}
	var out [][]Observation
	for start := 0; start < len(all); {
		end := start + 1
		for end < len(all) && less(all[start], all[end]) == 0 {
			end++
		}
		out = append(out, InPeriodOrder(all[start:end:end]))
		start = end
	}
	return out, nil
}
