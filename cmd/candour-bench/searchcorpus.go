package main

// The search benchmark's catalogue: what its documents are made from.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/datasets/sqlitedb"
)

// searchDatasets is how many generated datasets the catalogue has.
const searchDatasets = 1500

// seedSearchCatalogue writes the benchmark's catalogue into dataDir: the
// demo's GP practices and NHS trusts (candour import practices and
// trusts, from demodata's ODS files), and generated publishers, datasets
// and releases, each release published, until the catalogue's documents
// number at least n. It returns how many releases it published.
func seedSearchCatalogue(ctx context.Context, candour, demodata, dataDir string, n int) (int, error) {
	for _, imp := range [][2]string{{"practices", "epraccur.csv"}, {"trusts", "etr.csv"}} {
		cmd := exec.Command(candour, "import", imp[0], filepath.Join(demodata, imp[1]), "--data-dir", dataDir, "--log-level", "warn")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("candour import %s: %w\n%s", imp[0], err, out)
		}
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(dataDir, "candour.db"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	// Benchmark data only: one connection, not synced after each of the
	// releases' many transactions.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
		return 0, err
	}
	var orgs int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM organisations`).Scan(&orgs); err != nil {
		return 0, err
	}
	now := func() time.Time { return time.Now().UTC() }
	g := newCorpusGenerator()
	cat := cataloguesqlite.New(db, now)
	made, err := g.datasets(ctx, cat)
	if err != nil {
		return 0, err
	}
	releases := 0
	for orgs+len(made)+releases < n {
		d := made[g.rng.IntN(len(made))]
		if err := g.release(ctx, cat, d, now); err != nil {
			return 0, err
		}
		releases++
	}
	return releases, nil
}

// corpusGenerator makes the generated catalogue's words.
type corpusGenerator struct {
	rng *rand.Rand
}

func newCorpusGenerator() *corpusGenerator {
	return &corpusGenerator{rng: rand.New(rand.NewPCG(50000, 1))}
}

var (
	corpusSubjects = []string{"Cancer waiting times", "Hospital mortality", "Hip and knee replacements", "Maternity services", "Prescribing in primary care",
		"Mental health services", "Emergency admissions", "A&E attendances", "Dementia diagnosis", "Childhood vaccinations", "Diabetes care",
		"Stroke outcomes", "GP appointments", "Ambulance response times", "Bed availability", "Delayed discharges", "Smoking cessation",
		"Patient experience", "Workforce vacancies", "Referral to treatment waiting times"}
	corpusLevels     = []string{"by provider", "by GP practice", "by integrated care board", "by region", "for England"}
	corpusPublishers = []string{"NHS England", "NHS Digital", "Care Quality Commission", "Office for Health Improvement and Disparities", "UK Health Security Agency"}
	corpusTopics     = []string{"Cancer", "Mortality", "Surgery", "Maternity", "Prescribing", "Mental health", "Urgent care", "Primary care", "Workforce"}
	corpusFrequency  = []string{"Monthly", "Quarterly", "Annually", "Weekly"}
	corpusProse      = []string{"The number of patients", "waiting more than", "weeks from referral", "compared with the expected number", "adjusted for age and sex",
		"by trust and site", "rates per 100,000 population", "including emergency and elective care", "provisional figures", "revised after validation",
		"replacements of the hip and knee", "deaths within 30 days of discharge", "attendances at emergency departments", "vaccination coverage at 24 months"}
	corpusMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

func (g *corpusGenerator) pick(from []string) string { return from[g.rng.IntN(len(from))] }

func (g *corpusGenerator) sentence() string {
	words := make([]string, 6)
	for i := range words {
		words[i] = g.pick(corpusProse)
	}
	return strings.Join(words, ", ") + "."
}

// datasets writes the publishers and the generated datasets.
func (g *corpusGenerator) datasets(ctx context.Context, cat *cataloguesqlite.Store) ([]catalogue.Dataset, error) {
	publishers := map[string]catalogue.Publisher{}
	for i, name := range corpusPublishers {
		p, err := cat.PutPublisher(ctx, catalogue.Publisher{Slug: fmt.Sprintf("publisher-%d", i+1), Name: name})
		if err != nil {
			return nil, err
		}
		publishers[name] = p
	}
	var made []catalogue.Dataset
	for i := range searchDatasets {
		d, err := cat.CreateDataset(ctx, catalogue.Dataset{Slug: fmt.Sprintf("bench-%d", i), Title: g.pick(corpusSubjects) + " " + g.pick(corpusLevels),
			Summary: g.sentence(), Description: g.sentence(), Publisher: publishers[g.pick(corpusPublishers)], Licence: catalogue.DefaultLicence,
			Topics: []string{g.pick(corpusTopics)}, Frequency: g.pick(corpusFrequency), Granularity: strings.TrimPrefix(g.pick(corpusLevels), "by "),
			Status: catalogue.DatasetPlanned})
		if err != nil {
			return nil, err
		}
		made = append(made, d)
	}
	return made, nil
}

// release writes one release of d and takes it through the workflow's
// states to published, now.
func (g *corpusGenerator) release(ctx context.Context, cat *cataloguesqlite.Store, d catalogue.Dataset, now func() time.Time) error {
	month, year := g.pick(corpusMonths), 2015+g.rng.IntN(11)
	r, err := cat.CreateRelease(ctx, catalogue.Release{DatasetID: d.ID, Title: fmt.Sprintf("%s, %s %d", d.Title, month, year),
		PeriodLabel: fmt.Sprintf("%s %d", month, year), ChangeNotes: g.sentence()}, nil, nil)
	if err != nil {
		return err
	}
	for _, to := range []catalogue.ReleaseState{catalogue.StateChecked, catalogue.StateInReview, catalogue.StateApproved, catalogue.StateScheduled, catalogue.StatePublished} {
		if r, err = cat.TransitionRelease(ctx, catalogue.Transition{Release: r.ID, From: r.State, To: to, At: now(), Actor: "candour-bench", EmbargoAt: now()}); err != nil {
			return err
		}
	}
	return nil
}

// publishedReleases is the set of releases whose content the published
// view of dataDir's catalogue shows now (what the server passes its
// index).
func publishedReleases(ctx context.Context, dataDir string) ([]int64, error) {
	db, err := sqlitedb.Open(ctx, filepath.Join(dataDir, "candour.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return catalogue.Published(cataloguesqlite.New(db, nil), time.Now().UTC()).ContentVisibleReleases(ctx)
}
