package cataloguesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/sqlitedb"
)

var t0 = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

func newStore(t *testing.T) *cataloguesqlite.Store {
	t.Helper()
	s, _, _ := openStore(t)
	return s
}

// openStore is newStore with the database it is on and the database's
// file, for tests that use them besides the store.
func openStore(t *testing.T) (*cataloguesqlite.Store, *sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "candour.db")
	db, err := sqlitedb.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, sqlitedb.Set{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()}); err != nil {
		t.Fatal(err)
	}
	return cataloguesqlite.New(db, func() time.Time { return t0 }), db, file
}

func sha(c byte) string { return strings.Repeat(string(c), 64) }

// fixture: a publisher, a directory practice, a dataset and a draft release
// that names the practice and an organisation outside the directory.
func fixture(t *testing.T, s *cataloguesqlite.Store) (catalogue.Dataset, catalogue.Release) {
	t.Helper()
	ctx := context.Background()
	p, err := s.PutPublisher(ctx, catalogue.Publisher{Slug: "nhs-england", Name: "NHS England"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutOrganisations(ctx, []catalogue.Organisation{{
		Code: "A81001", Name: "THE DENSHAM SURGERY", Type: catalogue.TypeGPPractice, Status: catalogue.StatusActive,
		InDirectory: true, Source: "ODS epraccur", Postcode: "TS18 1HU", Address: []string{"THE HEALTH CENTRE"},
		Opened: catalogue.NewDate(1974, 4, 1), Details: []catalogue.Detail{{Label: "Prescribing setting (ODS)", Value: "4"}},
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDataset(ctx, catalogue.Dataset{Slug: "waits", Title: "Waits", Publisher: p,
		Licence: catalogue.DefaultLicence, Status: catalogue.DatasetPlanned, Topics: []string{"Cancer"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Secret draft title", PeriodLabel: "January 2026"},
		[]catalogue.File{
			{Name: "waits.csv", Role: catalogue.RolePublic, MediaType: "text/csv", Encoding: "utf-8", SHA256: sha('a'), Bytes: 10, Rows: 2},
			{Name: "waits.csv", Role: catalogue.RoleOriginal, MediaType: "text/csv", Encoding: "utf-8", SHA256: sha('b'), Bytes: 11, Rows: 2},
		},
		[]catalogue.Mention{{Code: "A81001", Name: "Densham"}, {Code: "ZZZ99", Name: "SECRET CLINIC", Type: catalogue.TypeUnknown}})
	if err != nil {
		t.Fatal(err)
	}
	return d, r
}

func publish(t *testing.T, s *cataloguesqlite.Store, r catalogue.Release, at time.Time) catalogue.Release {
	t.Helper()
	ctx := context.Background()
	if _, err := s.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: catalogue.StateDraft, To: catalogue.StateChecked, At: at.Add(-time.Hour), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	p, err := s.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: catalogue.StateChecked, To: catalogue.StatePublished, At: at, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seen collects what a view shows of the fixture.
type seen struct {
	dataset, release, file, unknownOrg bool
	datasetsListed, latest             int
	visibleIDs                         int
	practiceReleases                   int
	status                             catalogue.DatasetStatus
}

func look(t *testing.T, v *catalogue.View) seen {
	t.Helper()
	ctx := context.Background()
	var s seen
	if d, err := v.Dataset(ctx, "waits"); err == nil {
		s.dataset = true
		s.status = d.Status
	} else if !errors.Is(err, catalogue.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := v.Release(ctx, "waits", 1); err == nil {
		s.release = true
	} else if !errors.Is(err, catalogue.ErrNotFound) {
		t.Fatal(err)
	}
	if _, f, err := v.File(ctx, "waits", 1, "waits.csv"); err == nil {
		s.file = true
		if f.Role != catalogue.RolePublic || f.SHA256 != sha('a') {
			t.Errorf("view gave file %+v, want the public one", f)
		}
	} else if !errors.Is(err, catalogue.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := v.Organisation(ctx, "ZZZ99"); err == nil {
		s.unknownOrg = true
	} else if !errors.Is(err, catalogue.ErrNotFound) {
		t.Fatal(err)
	}
	page, err := v.Datasets(ctx, catalogue.DatasetQuery{})
	if err != nil {
		t.Fatal(err)
	}
	s.datasetsListed = page.Total
	latest, err := v.LatestReleases(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	s.latest = len(latest)
	ids, err := v.ContentVisibleReleases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.visibleIDs = len(ids)
	rs, err := v.ReleasesMentioning(ctx, "A81001")
	if err != nil {
		t.Fatal(err)
	}
	s.practiceReleases = len(rs)
	return s
}

func TestPublishedView(t *testing.T) {
	s := newStore(t)
	_, r := fixture(t, s)
	pub := t0.Add(24 * time.Hour)

	nothing := seen{}
	if got := look(t, catalogue.Published(s, pub.Add(48*time.Hour))); got != nothing {
		t.Errorf("draft: view shows %+v, want nothing", got)
	}
	r = publish(t, s, r, pub)
	if got := look(t, catalogue.Published(s, pub.Add(-time.Second))); got != nothing {
		t.Errorf("before the publication instant: view shows %+v, want nothing", got)
	}
	all := seen{dataset: true, release: true, file: true, unknownOrg: true, datasetsListed: 1, latest: 1, visibleIDs: 1, practiceReleases: 1, status: catalogue.DatasetPublished}
	if got := look(t, catalogue.Published(s, pub)); got != all {
		t.Errorf("at the publication instant: view shows %+v, want %+v", got, all)
	}

	ctx := context.Background()
	if _, err := s.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: catalogue.StatePublished, To: catalogue.StateWithdrawn,
		At: pub.Add(time.Hour), Actor: "test", Note: "wrong figures"}); err != nil {
		t.Fatal(err)
	}
	withdrawn := seen{dataset: true, release: true, datasetsListed: 1, latest: 1, status: catalogue.DatasetPlanned}
	v := catalogue.Published(s, pub.Add(2*time.Hour))
	if got := look(t, v); got != withdrawn {
		t.Errorf("withdrawn: view shows %+v, want %+v", got, withdrawn)
	}
	wr, err := v.Release(ctx, "waits", 1)
	if err != nil {
		t.Fatal(err)
	}
	if wr.ContentVisible || len(wr.Files) != 0 || wr.WithdrawnReason != "wrong figures" {
		t.Errorf("withdrawn release: content visible %v, %d files, reason %q", wr.ContentVisible, len(wr.Files), wr.WithdrawnReason)
	}
}

func TestUnknownOrganisationTakesNameFromVisibleReleasesOnly(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, first := fixture(t, s)
	first = publish(t, s, first, t0)
	// A second, draft release names the same code differently.
	if _, err := s.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Second"}, nil,
		[]catalogue.Mention{{Code: "ZZZ99", Name: "EMBARGOED NEW NAME", Type: catalogue.TypeCCG}}); err != nil {
		t.Fatal(err)
	}
	o, err := catalogue.Published(s, t0.Add(time.Hour)).Organisation(ctx, "ZZZ99")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "SECRET CLINIC" || o.Type != catalogue.TypeUnknown || o.InDirectory {
		t.Errorf("got %q type %s in directory %v, want the published name, unknown type, outside the directory", o.Name, o.Type, o.InDirectory)
	}
	internal, err := s.GetOrganisation(ctx, "ZZZ99", catalogue.Internal())
	if err != nil {
		t.Fatal(err)
	}
	if internal.Name != "EMBARGOED NEW NAME" || internal.Type != catalogue.TypeCCG {
		t.Errorf("internal read got %q %s, want the newest name and type", internal.Name, internal.Type)
	}
	dir, err := s.GetOrganisation(ctx, "A81001", catalogue.Internal())
	if err != nil {
		t.Fatal(err)
	}
	if dir.Name != "THE DENSHAM SURGERY" || len(dir.Details) != 1 || dir.Opened.String() != "1974-04-01" || dir.Address[0] != "THE HEALTH CENTRE" {
		t.Errorf("directory organisation read back as %+v", dir)
	}
}

// Organisations read many at once are those read one by one: the
// published view's name for one outside the directory, nothing for a
// code only a draft names or no one does.
func TestOrganisationsByCodeAreThoseReadOneByOne(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, first := fixture(t, s)
	publish(t, s, first, t0)
	if _, err := s.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Second"}, nil,
		[]catalogue.Mention{{Code: "DRAFT1", Name: "ONLY IN A DRAFT"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOrganisations(ctx, []catalogue.Organisation{{Code: "A81002", Name: "QUEENS PARK MEDICAL CENTRE", Type: catalogue.TypeGPPractice,
		Status: catalogue.StatusActive, InDirectory: true, Source: "ODS epraccur", ParentCode: "QHM", RegionCode: "Y63"}}); err != nil {
		t.Fatal(err)
	}
	view := catalogue.Published(s, t0.Add(time.Hour))
	codes := []string{"ZZZ99", "A81001", "DRAFT1", "NOWHERE", "a81001", "A81002"}
	got, err := view.OrganisationsByCode(ctx, codes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("read %d organisations, want ZZZ99, A81001 and A81002: %+v", len(got), got)
	}
	for _, code := range codes {
		one, err := view.Organisation(ctx, code)
		if errors.Is(err, catalogue.ErrNotFound) {
			if _, ok := got[code]; ok {
				t.Errorf("%s read many at once but not alone", code)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if many, ok := got[code]; !ok || fmt.Sprintf("%+v", many) != fmt.Sprintf("%+v", one) {
			t.Errorf("%s read many at once as %+v, alone as %+v", code, many, one)
		}
	}
	places, err := view.Places(ctx, codes)
	if err != nil {
		t.Fatal(err)
	}
	if len(places) != len(got) {
		t.Errorf("places of %d organisations, %d organisations", len(places), len(got))
	}
	for code, o := range got {
		if p := places[code]; p != (catalogue.Place{Code: code, RegionCode: o.RegionCode, ParentCode: o.ParentCode}) {
			t.Errorf("%s placed %+v, the organisation in %s under %s", code, p, o.RegionCode, o.ParentCode)
		}
	}
	if places["A81002"].ParentCode != "QHM" || places["A81002"].RegionCode != "Y63" {
		t.Errorf("A81002 placed %+v", places["A81002"])
	}
	if got["ZZZ99"].Name != "SECRET CLINIC" {
		t.Errorf("ZZZ99 named %q", got["ZZZ99"].Name)
	}
	if none, err := view.OrganisationsByCode(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no codes: %+v %v", none, err)
	}
}

func TestZeroVisibilityIsRefused(t *testing.T) {
	s := newStore(t)
	fixture(t, s)
	ctx := context.Background()
	if _, err := s.GetDataset(ctx, "waits", catalogue.Visibility{}); err == nil {
		t.Error("GetDataset with a zero visibility: want an error")
	}
	if _, err := s.ListOrganisations(ctx, catalogue.OrganisationQuery{}); err == nil {
		t.Error("ListOrganisations with a zero visibility: want an error")
	}
	if _, err := s.ContentVisibleReleases(ctx, catalogue.Visibility{}); err == nil {
		t.Error("ContentVisibleReleases with a zero visibility: want an error")
	}
}

func TestTransitionChecksState(t *testing.T) {
	s := newStore(t)
	_, r := fixture(t, s)
	ctx := context.Background()
	_, err := s.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: catalogue.StateChecked, To: catalogue.StatePublished, At: t0, Actor: "x"})
	if !errors.Is(err, catalogue.ErrConflict) {
		t.Fatalf("publishing a draft as if checked: got %v, want ErrConflict", err)
	}
	got, err := s.ReleaseByID(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != catalogue.StateDraft || !got.PublishedAt.IsZero() {
		t.Errorf("after a refused transition: state %s, published %v", got.State, got.PublishedAt)
	}
	events, err := s.ReleaseEvents(ctx, r.ID)
	if err != nil || len(events) != 1 || events[0].To != catalogue.StateDraft {
		t.Errorf("events %+v (err %v), want only the creation", events, err)
	}
	if _, err := s.TransitionRelease(ctx, catalogue.Transition{Release: 999, From: catalogue.StateDraft, To: catalogue.StateChecked, At: t0}); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("unknown release: got %v, want ErrNotFound", err)
	}
}

func TestWritesAreAllOrNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	err := s.PutOrganisations(ctx, []catalogue.Organisation{
		{Code: "R1", Name: "ONE", Type: catalogue.TypeNHSTrust, Status: catalogue.StatusActive, InDirectory: true, Source: "t"},
		{Code: "bad code!", Name: "TWO", Type: catalogue.TypeNHSTrust, Status: catalogue.StatusActive, InDirectory: true, Source: "t"},
	})
	if !errors.Is(err, catalogue.ErrInvalid) || !strings.Contains(err.Error(), "organisation 2") {
		t.Fatalf("got %v, want ErrInvalid naming organisation 2", err)
	}
	if _, err := s.GetOrganisation(ctx, "R1", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("R1 was stored although the batch failed: %v", err)
	}
	// A release for a dataset that does not exist leaves no organisation behind.
	_, err = s.CreateRelease(ctx, catalogue.Release{DatasetID: 42, Title: "x"}, nil, []catalogue.Mention{{Code: "NEW1", Name: "N"}})
	if !errors.Is(err, catalogue.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if _, err := s.GetOrganisation(ctx, "NEW1", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("NEW1 was stored although the release was refused: %v", err)
	}
}

func TestVersionsAndListing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	d, r1 := fixture(t, s)
	r2, err := s.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: "Second"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version != 1 || r2.Version != 2 {
		t.Fatalf("versions %d and %d, want 1 and 2", r1.Version, r2.Version)
	}
	if _, err := s.CreateDataset(ctx, catalogue.Dataset{Slug: "promised", Title: "A promise", Licence: catalogue.DefaultLicence,
		Status: catalogue.DatasetNotOpen, Announced: true,
		Inventory: &catalogue.InventoryEntry{Source: "Annex B", Line: 3, Name: "A promise", OGL: "no", ReleaseDate: "tbc"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDataset(ctx, catalogue.Dataset{Slug: "promised", Title: "Again", Licence: catalogue.DefaultLicence, Status: catalogue.DatasetPlanned}); !errors.Is(err, catalogue.ErrConflict) {
		t.Errorf("duplicate slug: got %v, want ErrConflict", err)
	}
	publish(t, s, r2, t0)
	v := catalogue.Published(s, t0)
	for _, c := range []struct {
		status catalogue.DatasetStatus
		want   []string
	}{
		{"", []string{"promised", "waits"}},
		{catalogue.DatasetPublished, []string{"waits"}},
		{catalogue.DatasetNotOpen, []string{"promised"}},
		{catalogue.DatasetPlanned, nil},
	} {
		page, err := v.Datasets(ctx, catalogue.DatasetQuery{Status: c.status})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range page.Datasets {
			got = append(got, d.Slug)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") || page.Total != len(c.want) {
			t.Errorf("status %q: got %v (total %d), want %v", c.status, got, page.Total, c.want)
		}
		for _, d := range page.Datasets {
			if d.Slug == "waits" && (d.Releases != 1 || d.Latest == nil || d.Latest.Version != 2) {
				t.Errorf("waits summary: %d releases, latest %+v; want 1 release, latest version 2", d.Releases, d.Latest)
			}
			if d.Slug == "promised" && (d.Inventory == nil || d.Inventory.OGL != "no" || d.Inventory.Line != 3) {
				t.Errorf("inventory entry not kept: %+v", d.Inventory)
			}
		}
	}
	// Version 1 is still a draft: its page is hidden while version 2's shows.
	if _, err := v.Release(ctx, "waits", 1); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("draft version 1: got %v, want ErrNotFound", err)
	}
	if _, err := v.Release(ctx, "waits", 2); err != nil {
		t.Errorf("published version 2: %v", err)
	}
}

func TestOrganisationListing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var orgs []catalogue.Organisation
	for _, c := range []struct {
		code, name string
		typ        catalogue.OrganisationType
		status     catalogue.OrganisationStatus
	}{
		{"RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", catalogue.TypeNHSTrust, catalogue.StatusActive},
		{"R0C", "PROJECT NIGHTINGALE NHS TRUST", catalogue.TypeNHSTrust, catalogue.StatusClosed},
		{"A81001", "THE DENSHAM SURGERY", catalogue.TypeGPPractice, catalogue.StatusActive},
		{"A81002", "QUEENS PARK MEDICAL CENTRE", catalogue.TypeGPPractice, catalogue.StatusActive},
	} {
		orgs = append(orgs, catalogue.Organisation{Code: c.code, Name: c.name, Type: c.typ, Status: c.status, InDirectory: true, Source: "t", ParentCode: "QHM", RegionCode: "Y63"})
	}
	orgs[0].RegionCode = "Y62"
	if err := s.PutOrganisations(ctx, orgs); err != nil {
		t.Fatal(err)
	}
	v := catalogue.Published(s, t0)
	page, err := v.Organisations(ctx, catalogue.OrganisationQuery{Type: catalogue.TypeGPPractice, Limit: 1, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Organisations) != 1 || page.Organisations[0].Code != "A81001" {
		t.Errorf("second page of practices: total %d, %+v; want total 2 and A81001 (by name)", page.Total, page.Organisations)
	}
	// An area's organisations: by region, and by region and board.
	for _, c := range []struct {
		q    catalogue.OrganisationQuery
		want int
	}{
		{catalogue.OrganisationQuery{Region: "Y63"}, 3},
		{catalogue.OrganisationQuery{Region: "Y62"}, 1},
		{catalogue.OrganisationQuery{Region: "Y62", Parent: "QHM"}, 1},
		{catalogue.OrganisationQuery{Region: "Y56"}, 0},
	} {
		if page, err := v.Organisations(ctx, c.q); err != nil || page.Total != c.want {
			t.Errorf("%+v: total %d (%v), want %d", c.q, page.Total, err, c.want)
		}
	}
	counts, err := v.OrganisationCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range counts {
		got[string(c.Type)+"/"+string(c.Status)] = c.Count
	}
	want := map[string]int{"nhs-trust/active": 1, "nhs-trust/closed": 1, "gp-practice/active": 2}
	if len(got) != len(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("count %s = %d, want %d", k, got[k], n)
		}
	}
}
