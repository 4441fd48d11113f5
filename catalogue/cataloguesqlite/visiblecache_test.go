package cataloguesqlite_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
)

// The set of releases whose content is public is cached between views, and
// is still right at every instant and after every change: a scheduled
// release appears at its instant exactly, a view at an earlier instant
// than one already read does not see later releases, and a release
// withdrawn by another process (another connection to the same file) is
// gone from the next view.
func TestContentVisibleSetFollowsChanges(t *testing.T) {
	ctx := context.Background()
	s, _, file := openStore(t)
	d, first := fixture(t, s)
	pub := t0.Add(24 * time.Hour)
	first = publish(t, s, first, pub)
	second, err := s.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "February", PeriodLabel: "February 2026"},
		[]catalogue.File{{Name: "waits.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8", SHA256: sha('c'), Bytes: 10, Rows: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scheduled := pub.Add(10 * time.Hour)
	second = publish(t, s, second, scheduled) // published, with its content public from the scheduled instant

	visibleAt := func(at time.Time) []int64 {
		t.Helper()
		ids, err := catalogue.Published(s, at).ContentVisibleReleases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, step := range []struct {
		name string
		at   time.Time
		want []int64
	}{
		{"after the first publication", pub.Add(time.Hour), []int64{first.ID}},
		{"again (from the cache)", pub.Add(2 * time.Hour), []int64{first.ID}},
		{"a moment before the scheduled one", scheduled.Add(-time.Millisecond), []int64{first.ID}},
		{"at the scheduled instant", scheduled, []int64{first.ID, second.ID}},
		{"earlier than the last view", pub.Add(5 * time.Hour), []int64{first.ID}},
		{"before any publication", pub.Add(-time.Second), nil},
		{"later again", scheduled.Add(time.Hour), []int64{first.ID, second.ID}},
	} {
		if got := visibleAt(step.at); !slices.Equal(got, step.want) {
			t.Errorf("%s: %v, want %v", step.name, got, step.want)
		}
	}

	// Another process withdraws the first release.
	other, err := sql.Open("sqlite3", "file:"+file+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `UPDATE releases SET state = 'withdrawn' WHERE id = ?`, first.ID); err != nil {
		t.Fatal(err)
	}
	if got := visibleAt(scheduled.Add(time.Hour)); !slices.Equal(got, []int64{second.ID}) {
		t.Errorf("after another process withdrew release %d: %v, want only %d", first.ID, got, second.ID)
	}
	// What the cache hands out is the caller's to change.
	got := visibleAt(scheduled.Add(time.Hour))
	got[0] = -1
	if again := visibleAt(scheduled.Add(time.Hour)); !slices.Equal(again, []int64{second.ID}) {
		t.Errorf("a caller changing its set changed the cache: %v", again)
	}
}
