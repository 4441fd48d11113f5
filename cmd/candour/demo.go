package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/publisher"
)

// demoFiles holds the demo data — byte-for-byte copies of ../shared/data
// and the inventory, checked against SHA256SUMS by a test — and the
// descriptors (schemas and metadata) that publish them.
//
//go:embed demodata demospec
var demoFiles embed.FS

const demoSummary = `Loads the bundled real NHS data into an empty data folder, then serves it:
the ODS directories of GP practices and NHS trusts, the 2012 inventory of
promised datasets, and five datasets (cancer waiting times, PROMs, CQC
ratings of GP practices, NHS payments to general practice, and SHMI as eleven
quarterly releases), with a synthetic clinical audit, a synthetic Friends and
Family Test style dataset and synthetic patient feedback, each labelled as
such. Every
release goes through the publishing workflow with demo accounts (publishers,
two transparency panel reviewers and a provider checker), whose sign-in
details the demo prints: eighteen releases are published, the eleventh SHMI
release is scheduled for a future date (on the public calendar, its content
embargoed), and a correction of the CQC ratings is left in panel review.
If the folder already holds data it is served as it is.`

// demoReleases are the descriptors published unchanged, in order.
var demoReleases = []string{"cancer-waiting-times.json", "proms.json", "cqc-gp-ratings.json", "gp-payments.json"}

// specFS shows the descriptors at its root and the demo data under data/,
// the layout the descriptors' relative paths expect.
type specFS struct{}

func (specFS) Open(name string) (fs.File, error) {
	if rest, ok := strings.CutPrefix(name, "data/"); ok {
		return demoFiles.Open("demodata/" + rest)
	}
	return demoFiles.Open("demospec/" + name)
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("demo", demoSummary, "", true, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("candour demo: unexpected argument %q", rest[0])}
	}
	log := cfg.logger(stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	empty, err := a.empty(ctx)
	if err != nil {
		return err
	}
	if empty {
		start := time.Now()
		if err := loadDemo(ctx, a, stdout, progressPrinter(stderr)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Demo data loaded in %s.\n", time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(stdout, "The data folder %s already holds data; serving it as it is.\n", cfg.DataDir)
	}
	return serve(ctx, a, stdout)
}

// loadDemo fills an empty data folder with the demo data, publishing each
// release through the same workflow an operator uses.
func loadDemo(ctx context.Context, a *app, stdout io.Writer, progress publisher.Progress) error {
	if empty, err := a.empty(ctx); err != nil {
		return err
	} else if !empty {
		return errors.New("the demo data is loaded only into an empty data folder")
	}
	for _, d := range []struct {
		file     string
		importer func(context.Context, io.Reader, string, int64, publisher.Progress) (publisher.DirectoryReport, error)
	}{
		{"epraccur.csv", a.publisher.ImportPractices},
		{"etr.csv", a.publisher.ImportTrusts},
	} {
		f, size, err := openDemoFile(d.file)
		if err != nil {
			return err
		}
		report, err := d.importer(ctx, f, d.file, size, progress)
		f.Close()
		if err != nil {
			return err
		}
		printDirectoryReport(stdout, report)
	}

	if err := loadAreaNames(ctx, a, stdout, "gp-payments-2022-23.csv", "cqc-gp-ratings.csv"); err != nil {
		return err
	}

	if err := loadPlaces(ctx, a, stdout, progress); err != nil {
		return err
	}
	if err := loadDemoFeedback(ctx, a, stdout); err != nil {
		return err
	}

	cast, err := createDemoAccounts(ctx, a)
	if err != nil {
		return err
	}

	inv, _, err := openDemoFile("annexb-inventory.tsv")
	if err != nil {
		return err
	}
	report, err := a.publisher.ImportInventory(ctx, inv, "annexb-inventory.tsv", inventorySource)
	inv.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loaded %d inventory entries; %d cells no rule reads were kept as written.\n", report.Entries, len(report.Unmapped))

	var toPublish []int64
	var cqc int64
	for _, name := range demoReleases {
		sub, err := publisher.ReadSubmission(specFS{}, name)
		if err != nil {
			return err
		}
		id, err := cast.throughReview(ctx, a, sub, stdout, progress)
		if err != nil {
			return err
		}
		if sub.Dataset.Slug == "cqc-ratings-of-gp-practices" {
			cqc = id
		}
		toPublish = append(toPublish, id)
	}
	subs, err := shmiReleases()
	if err != nil {
		return err
	}
	for _, sub := range subs[:len(subs)-1] {
		id, err := cast.throughReview(ctx, a, sub, stdout, progress)
		if err != nil {
			return err
		}
		toPublish = append(toPublish, id)
	}
	fft, err := syntheticFFTRelease()
	if err != nil {
		return err
	}
	fftID, err := cast.throughReview(ctx, a, fft, stdout, progress)
	if err != nil {
		return err
	}
	toPublish = append(toPublish, fftID)
	auditSubs, err := syntheticAuditReleases()
	if err != nil {
		return err
	}
	for _, sub := range auditSubs[:len(auditSubs)-1] {
		id, err := cast.throughReview(ctx, a, sub, stdout, progress)
		if err != nil {
			return err
		}
		toPublish = append(toPublish, id)
	}
	id, err := cast.auditThroughPreview(ctx, a, auditSubs[len(auditSubs)-1], stdout, progress)
	if err != nil {
		return err
	}
	toPublish = append(toPublish, id)
	if err := cast.publishAll(ctx, a, toPublish, stdout); err != nil {
		return err
	}
	if err := cast.scheduleLastSHMI(ctx, a, subs[len(subs)-1], stdout, progress); err != nil {
		return err
	}
	if err := cast.correctionInReview(ctx, a, cqc, stdout, progress); err != nil {
		return err
	}
	cast.print(stdout)
	return nil
}

func openDemoFile(name string) (fs.File, int64, error) {
	f, err := demoFiles.Open("demodata/" + name)
	if err != nil {
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

// shmiReleases splits the SHMI source file (eleven quarterly publications
// in one file) into one release per publication date, so the demo has a
// time series with revisions from the start. Each release's file holds the
// source's header and that publication's rows, unchanged; its change notes
// list the trusts that joined or left since the previous publication.
func shmiReleases() ([]publisher.Submission, error) {
	tmpl, err := publisher.ReadSubmission(specFS{}, "shmi.json")
	if err != nil {
		return nil, err
	}
	source := tmpl.Files[0]
	rawDefs, err := fs.ReadFile(specFS{}, "shmi.indicators.json")
	if err != nil {
		return nil, err
	}
	defs, err := indicators.ParseDefinitions(rawDefs)
	if err != nil {
		return nil, fmt.Errorf("shmi.indicators.json: %w", err)
	}
	rc, err := source.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rd, err := datasets.NewReader(rc, source.Name(), source.Resource)
	if err != nil {
		return nil, err
	}
	header := rd.Header()
	byDate := map[string][][]string{}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		date := row.Cells[0]
		byDate[date] = append(byDate[date], slices.Clone(row.Cells))
	}
	dates := make([]string, 0, len(byDate))
	for d := range byDate {
		dates = append(dates, d)
	}
	sort.Strings(dates)

	var subs []publisher.Submission
	var previous map[string]bool
	for _, date := range dates {
		var buf bytes.Buffer
		w, err := datasets.NewWriter(&buf, header)
		if err != nil {
			return nil, err
		}
		providers := map[string]bool{}
		for _, cells := range byDate[date] {
			if err := w.Write(cells); err != nil {
				return nil, err
			}
			providers[cells[1]] = true
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		published, err := time.Parse(time.DateOnly, date)
		if err != nil {
			return nil, fmt.Errorf("shmi DATE %q: %w", date, err)
		}
		month := published.Format("January 2006")
		res := source.Resource
		res.Name = "shmi-" + published.Format("2006-01")
		res.Path = res.Name + ".csv"
		res.Title = "SHMI by trust, published " + month
		data := buf.Bytes()
		sub := tmpl
		sub.Release.Title = "SHMI, published " + month
		sub.Release.Summary = fmt.Sprintf("The SHMI for %d NHS trusts, for the twelve months covered by the %s publication.", len(providers), month)
		sub.Release.PeriodLabel = "Rolling twelve months, published " + month
		sub.Release.ChangeNotes = shmiChanges(previous, providers)
		sub.Indicators = nil
		for _, d := range defs {
			d.File = res.Path
			sub.Indicators = append(sub.Indicators, d)
		}
		sub.Files = []publisher.SubmittedFile{{
			Resource: res, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		}}
		subs = append(subs, sub)
		previous = providers
	}
	return subs, nil
}

// shmiChanges describes which trusts joined or left between publications.
func shmiChanges(previous, current map[string]bool) string {
	if previous == nil {
		return "First publication in this series."
	}
	var joined, left []string
	for p := range current {
		if !previous[p] {
			joined = append(joined, p)
		}
	}
	for p := range previous {
		if !current[p] {
			left = append(left, p)
		}
	}
	sort.Strings(joined)
	sort.Strings(left)
	if len(joined) == 0 && len(left) == 0 {
		return fmt.Sprintf("The same %d trusts as the previous publication, with figures for a later twelve months.", len(current))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d trusts, against %d in the previous publication.", len(current), len(previous))
	if len(left) > 0 {
		fmt.Fprintf(&b, " No longer included: %s.", strings.Join(left, ", "))
	}
	if len(joined) > 0 {
		fmt.Fprintf(&b, " Newly included: %s.", strings.Join(joined, ", "))
	}
	return b.String()
}

// loadPlaces loads hospital sites, trust headquarters positions and
// postcode district centres, for place search.
func loadPlaces(ctx context.Context, a *app, stdout io.Writer, progress publisher.Progress) error {
	f, size, err := openDemoFile("hospital-sites.csv")
	if err != nil {
		return err
	}
	report, err := a.publisher.ImportHospitalSites(ctx, f, "hospital-sites.csv", size, progress)
	f.Close()
	if err != nil {
		return err
	}
	printDirectoryReport(stdout, report)
	f, _, err = openDemoFile("trust-hq-locations.csv")
	if err != nil {
		return err
	}
	trusts, err := a.publisher.ImportTrustLocations(ctx, f, "trust-hq-locations.csv")
	f.Close()
	if err != nil {
		return err
	}
	f, _, err = openDemoFile("postcode-outcodes.csv")
	if err != nil {
		return err
	}
	outcodes, err := a.publisher.ImportOutcodes(ctx, f, "postcode-outcodes.csv")
	f.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Placed %d NHS trusts at their headquarters; loaded %d postcode district centres.\n", trusts, outcodes)
	return nil
}

// loadAreaNames names the regions and integrated care boards the ODS
// files load by code only, from the demo files that name them (the NHS
// payments file first: it names every region and board), printing every
// conflict between them.
func loadAreaNames(ctx context.Context, a *app, stdout io.Writer, names ...string) error {
	var files []publisher.AreaNameFile
	for _, name := range names {
		f, _, err := openDemoFile(name)
		if err != nil {
			return err
		}
		defer f.Close()
		files = append(files, publisher.AreaNameFile{Name: name, R: f})
	}
	report, err := a.publisher.ImportAreaNames(ctx, files)
	if err != nil {
		return err
	}
	printDirectoryReport(stdout, report)
	return nil
}
