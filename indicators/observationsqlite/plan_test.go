package observationsqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
)

// One organisation's observations (a scorecard) are read from the primary
// key, where they lie together, not found release by release through
// observations_by_release; an indicator's points from its index alone.
func TestAnOrganisationsObservationsAreOneRange(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, Migrations()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q      indicators.ObservationQuery
		want   string
		points bool // the query Points runs, not Observations
	}{
		// An indicator's points come from the index alone.
		{indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Indicator: "shmi"}, "USING COVERING INDEX observations_by_indicator (indicator=? AND release_id=?)", true},
		{indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Indicator: "shmi", Organisations: []string{"RR8", "RX1"}}, "USING COVERING INDEX observations_by_indicator (indicator=? AND release_id=?", true},
		{indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Organisation: "RR8"}, "USING PRIMARY KEY (organisation=?)", false},
		{indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Organisation: "RR8", Indicator: "shmi"}, "USING PRIMARY KEY (organisation=? AND indicator=?)", false},
		{indicators.ObservationQuery{Visible: datasets.NewVisible(1, 2, 3), Indicator: "shmi"}, "USING INDEX observations_by_indicator (indicator=? AND release_id=?)", false},
	} {
		query, args := observationsSQL(tc.q)
		if tc.points {
			query, args = pointsSQL(tc.q)
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: plan %q, want %q", tc.q, got, tc.want)
		}
	}
}
