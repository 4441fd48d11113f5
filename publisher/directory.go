package publisher

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

//go:embed schemas/*.json
var schemas embed.FS

// loadResource reads one of the embedded resource descriptors.
func loadResource(name string) (datasets.Resource, error) {
	b, err := schemas.ReadFile("schemas/" + name)
	if err != nil {
		return datasets.Resource{}, err
	}
	var r datasets.Resource
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("embedded descriptor %s: %w", name, err)
	}
	return r, nil
}

// DirectoryReport summarises a directory import.
type DirectoryReport struct {
	Source string
	Rows   int
	// Counts is how many organisations were loaded of each type and status.
	Counts map[string]int
	// Notes are decisions taken on the data, for the operator to read.
	Notes []string
}

// CountLines returns the report's counts as sorted lines, for printing.
func (r DirectoryReport) CountLines() []string {
	var out []string
	for k, n := range r.Counts {
		out = append(out, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(out)
	return out
}

// The ODS status codes in epraccur's column 13.
var odsStatus = map[string]catalogue.OrganisationStatus{
	"A": catalogue.StatusActive,
	"C": catalogue.StatusClosed,
	"D": catalogue.StatusDormant,
	"P": catalogue.StatusProposed,
}

// gpPracticeSetting is the ODS prescribing setting of a GP practice.
const gpPracticeSetting = "4"

// ImportPractices loads the ODS epraccur file (GP practices and other
// prescribing cost centres; headerless, 27 columns). Rows with prescribing
// setting 4 are GP practices; the others are loaded as other prescribing
// cost centres with their setting code shown as written, because the file
// does not say what the other codes mean. The regions and integrated care
// boards the rows refer to are loaded by code; the file does not name them.
// Nothing is stored if any row has a problem.
func (s *Service) ImportPractices(ctx context.Context, r io.Reader, name string, size int64, progress Progress) (DirectoryReport, error) {
	res, err := loadResource("ods-epraccur.resource.json")
	if err != nil {
		return DirectoryReport{}, err
	}
	source := "ODS epraccur (" + name + ")"
	return s.importDirectory(ctx, r, name, size, res, source, progress, func(row datasets.Row) catalogue.Organisation {
		c := row.Cells
		o := directoryOrganisation(row, source)
		o.Status = odsStatus[c[12]]
		o.Type = catalogue.TypePrescribingCostCentre
		if c[25] == gpPracticeSetting {
			o.Type = catalogue.TypeGPPractice
		}
		o.Details = appendDetail(o.Details, "Prescribing setting (ODS code)", c[25])
		o.Details = appendDetail(o.Details, "Commissioner (sub-ICB location code)", c[14])
		return o
	})
}

// ImportTrusts loads the ODS etr file (NHS trusts; headerless, 27 columns).
// The file has no status column, so the status is read from the dates:
// closed when the close date has passed, proposed when the open date is
// still to come, otherwise open.
func (s *Service) ImportTrusts(ctx context.Context, r io.Reader, name string, size int64, progress Progress) (DirectoryReport, error) {
	res, err := loadResource("ods-etr.resource.json")
	if err != nil {
		return DirectoryReport{}, err
	}
	source := "ODS etr (" + name + ")"
	today := catalogue.NewDate(s.now().Date())
	return s.importDirectory(ctx, r, name, size, res, source, progress, func(row datasets.Row) catalogue.Organisation {
		o := directoryOrganisation(row, source)
		o.Type = catalogue.TypeNHSTrust
		o.Status = statusFromDates(o.Opened, o.Closed, today)
		return o
	})
}

// statusFromDates derives a status for directories without a status
// column.
func statusFromDates(opened, closed, today catalogue.Date) catalogue.OrganisationStatus {
	switch {
	case !closed.IsZero() && !closed.After(today):
		return catalogue.StatusClosed
	case !opened.IsZero() && opened.After(today):
		return catalogue.StatusProposed
	}
	return catalogue.StatusActive
}

// directoryOrganisation reads the columns epraccur and etr share.
func directoryOrganisation(row datasets.Row, source string) catalogue.Organisation {
	c, v := row.Cells, row.Values
	o := catalogue.Organisation{
		Code: c[0], Name: c[1], RegionCode: c[2], ParentCode: c[3], Postcode: c[9], Phone: c[17],
		InDirectory: true, Source: source,
	}
	for _, line := range c[4:9] {
		if strings.TrimSpace(line) != "" {
			o.Address = append(o.Address, line)
		}
	}
	if v[10].Kind == datasets.KindDate {
		o.Opened = catalogue.NewDate(v[10].Time.Date())
	}
	if v[11].Kind == datasets.KindDate {
		o.Closed = catalogue.NewDate(v[11].Time.Date())
	}
	return o
}

func appendDetail(ds []catalogue.Detail, label, value string) []catalogue.Detail {
	if value == "" {
		return ds
	}
	return append(ds, catalogue.Detail{Label: label, Value: value})
}

func (s *Service) importDirectory(ctx context.Context, r io.Reader, name string, size int64, res datasets.Resource,
	source string, progress Progress, toOrganisation func(datasets.Row) catalogue.Organisation) (DirectoryReport, error) {
	if progress == nil {
		progress = noProgress
	}
	report := DirectoryReport{Source: source, Counts: map[string]int{}}
	counter := &progressReader{r: r, step: "reading " + name, total: size, progress: progress}
	rd, err := datasets.NewReader(counter, name, res)
	if err != nil {
		return report, &Rejection{Files: asProblems(err, name)}
	}
	var orgs []catalogue.Organisation
	var problems datasets.Problems
	regions, icbs := map[string]bool{}, map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return report, err
		}
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, asProblems(err, name)...)
			if row.Number == 0 || len(problems) >= maxProblemsPerFile { // Number 0: a fatal problem
				break
			}
			continue
		}
		o := toOrganisation(row)
		if err := o.Validate(); err != nil {
			problems = append(problems, datasets.Problem{File: name, Row: row.Record, Line: row.Line, Offset: -1, Message: err.Error()})
			continue
		}
		orgs = append(orgs, o)
		if o.RegionCode != "" {
			regions[o.RegionCode] = true
		}
		if o.ParentCode != "" {
			icbs[o.ParentCode] = true
		}
		report.Rows++
	}
	counter.finish()
	if len(problems) > 0 {
		return report, &Rejection{Files: problems}
	}
	referenced := source + ", referenced code"
	for _, code := range sortedKeys(regions) {
		orgs = append(orgs, catalogue.Organisation{Code: code, Type: catalogue.TypeRegion, Status: catalogue.StatusUnknown, InDirectory: true, Source: referenced})
	}
	for _, code := range sortedKeys(icbs) {
		orgs = append(orgs, catalogue.Organisation{Code: code, Type: catalogue.TypeICB, Status: catalogue.StatusUnknown, InDirectory: true, Source: referenced})
	}
	existing, err := s.catalogue.OrganisationsInDirectory(ctx, append(sortedKeys(regions), sortedKeys(icbs)...))
	if err != nil {
		return report, err
	}
	// Do not overwrite a region or board that another import already
	// described more fully.
	kept := orgs[:0]
	for _, o := range orgs {
		if strings.HasSuffix(o.Source, ", referenced code") && existing[o.Code] {
			continue
		}
		kept = append(kept, o)
	}
	if err := s.catalogue.PutOrganisations(ctx, kept); err != nil {
		return report, err
	}
	for _, o := range kept {
		report.Counts[o.Type.Plural()+" ("+strings.ToLower(o.Status.Label())+")"]++
	}
	report.Notes = append(report.Notes, fmt.Sprintf("%d region and %d integrated care board codes referenced; the file does not name them", len(regions), len(icbs)))
	s.log.Info("directory imported", "source", source, "rows", report.Rows, "organisations", len(kept), "at", s.now().Format(time.RFC3339))
	return report, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
