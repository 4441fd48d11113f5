package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// InventoryReport summarises an inventory import.
type InventoryReport struct {
	Entries  int
	Statuses map[catalogue.DatasetStatus]int
	Skipped  []string // entries already in the catalogue
	// Unmapped are the cells no rule of the table below reads (the text is
	// kept as written; the typed field stays empty), each naming its line
	// and column.
	Unmapped []datasets.Problem
}

// The inventory's free text is read into typed fields by this table, and
// only by it; the original text is always kept and shown.
//
//	column        text (case-insensitive)                       typed value
//	ogl           "yes…"                                        licence OGL-UK-3.0, status planned
//	ogl           "no…"                                         status not open
//	ogl           "tbc", "n/a", ""                              licence not stated (not reported)
//	frequency     "…monthly…"                                   Monthly
//	frequency     "…quarterly…"                                 Quarterly
//	frequency     "…annually…", "…annual…", "…yearly…"          Annually
//	frequency     "…weekly…"                                    Weekly
//	frequency     "…one-off…", "n/a (one-off…)"                 One-off
//	frequency     "tbc", "n/a", ""                              not stated (not reported)
//	release_date  "… D Month YYYY" (the last date named)         YYYY-MM-DD
//	release_date  "… Month YYYY"   (the last month named)        YYYY-MM
//	release_date  "tbc", "n/a", ""                              not stated (not reported)
//
// Any other text is reported in InventoryReport.Unmapped.
var inventoryFrequencies = []struct{ contains, value string }{
	{"monthly", "Monthly"}, {"quarterly", "Quarterly"}, {"annually", "Annually"}, {"annual", "Annually"}, {"yearly", "Annually"},
	{"weekly", "Weekly"}, {"one-off", "One-off"},
}

var (
	inventoryDay   = regexp.MustCompile(`(?i)\b(\d{1,2}) (january|february|march|april|may|june|july|august|september|october|november|december) (\d{4})\b`)
	inventoryMonth = regexp.MustCompile(`(?i)\b(january|february|march|april|may|june|july|august|september|october|november|december) (\d{4})\b`)
)

func notStated(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return t == "" || t == "tbc" || t == "n/a"
}

// inventoryFrequency applies the table to the frequency column.
func inventoryFrequency(text string) (string, bool) {
	t := strings.ToLower(text)
	for _, f := range inventoryFrequencies {
		if strings.Contains(t, f.contains) {
			return f.value, true
		}
	}
	return "", notStated(text)
}

// inventoryExpected applies the table to the release_date column.
func inventoryExpected(text string) (string, bool) {
	if days := inventoryDay.FindAllStringSubmatch(text, -1); len(days) > 0 {
		d := days[len(days)-1]
		if t, err := time.Parse("2 January 2006", d[1]+" "+strings.ToUpper(d[2][:1])+strings.ToLower(d[2][1:])+" "+d[3]); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	if months := inventoryMonth.FindAllStringSubmatch(text, -1); len(months) > 0 {
		m := months[len(months)-1]
		if t, err := time.Parse("January 2006", strings.ToUpper(m[1][:1])+strings.ToLower(m[1][1:])+" "+m[2]); err == nil {
			return t.Format("2006-01"), true
		}
	}
	return "", notStated(text)
}

// ImportInventory loads an inventory of promised datasets (a tab-separated
// file with the columns name, description, release_date, frequency, ogl,
// granularity and publisher) as announced catalogue entries, keeping every
// column's original text.
//
// The licence and status, the frequency and the expected release date are
// read from the free text by the table below (InventoryReport); cells no
// rule reads are reported, never guessed.
func (s *Service) ImportInventory(ctx context.Context, r io.Reader, name, source string) (InventoryReport, error) {
	report := InventoryReport{Statuses: map[catalogue.DatasetStatus]int{}}
	res, err := loadResource("inventory.resource.json")
	if err != nil {
		return report, err
	}
	rd, err := datasets.NewReader(r, name, res)
	if err != nil {
		return report, &Rejection{Files: asProblems(err, name)}
	}
	var entries []catalogue.Dataset
	var problems datasets.Problems
	slugs := map[string]bool{}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, asProblems(err, name)...)
			if row.Number == 0 { // a fatal problem
				break
			}
			continue
		}
		c := row.Cells
		entry := catalogue.InventoryEntry{Source: source, Line: row.Line, Name: c[0], Description: c[1],
			ReleaseDate: c[2], Frequency: c[3], OGL: c[4], Granularity: c[5], Publisher: c[6]}
		licence, status := inventoryLicence(entry.OGL)
		frequency, ok := inventoryFrequency(entry.Frequency)
		if !ok {
			report.Unmapped = append(report.Unmapped, datasets.Problem{File: name, Row: row.Record, Line: row.Line, Column: 4, Field: "frequency",
				Value: entry.Frequency, Offset: -1, Message: "no rule reads this frequency; kept as written, with no typed frequency"})
		}
		var expectedOK bool
		if entry.Expected, expectedOK = inventoryExpected(entry.ReleaseDate); !expectedOK {
			report.Unmapped = append(report.Unmapped, datasets.Problem{File: name, Row: row.Record, Line: row.Line, Column: 3, Field: "release_date",
				Value: entry.ReleaseDate, Offset: -1, Message: "no rule reads a date from this text; kept as written, with no typed date"})
		}
		slug := uniqueSlug(Slugify(entry.Name), slugs)
		entries = append(entries, catalogue.Dataset{
			Slug: slug, Title: entry.Name, Summary: entry.Description, Licence: licence, Status: status,
			Frequency: frequency, Granularity: entry.Granularity, Announced: true, Inventory: &entry,
		})
	}
	if len(problems) > 0 {
		return report, &Rejection{Files: problems}
	}
	for _, d := range entries {
		if _, err := s.catalogue.CreateDataset(ctx, d); errors.Is(err, catalogue.ErrConflict) {
			report.Skipped = append(report.Skipped, d.Slug)
			continue
		} else if err != nil {
			return report, err
		}
		report.Entries++
		report.Statuses[d.Status]++
	}
	return report, nil
}

// inventoryLicence applies the rule in ImportInventory's doc.
func inventoryLicence(ogl string) (string, catalogue.DatasetStatus) {
	t := strings.ToLower(strings.TrimSpace(ogl))
	switch {
	case t == "yes" || strings.HasPrefix(t, "yes "):
		return catalogue.DefaultLicence, catalogue.DatasetPlanned
	case t == "no" || strings.HasPrefix(t, "no "):
		return "not-open", catalogue.DatasetNotOpen
	}
	return catalogue.LicenceNotStated, catalogue.DatasetPlanned
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify turns a title into a slug of at most 80 characters, cut at a word
// boundary.
func Slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 80 {
		s = s[:80]
		if i := strings.LastIndex(s, "-"); i > 40 {
			s = s[:i]
		}
		s = strings.Trim(s, "-")
	}
	if s == "" {
		s = "dataset"
	}
	return s
}

func uniqueSlug(base string, taken map[string]bool) string {
	slug := base
	for i := 2; taken[slug]; i++ {
		slug = fmt.Sprintf("%s-%d", base, i)
	}
	taken[slug] = true
	return slug
}

// InventoryExpected is the table's reading of a release_date text ("" when
// no rule applies).
func InventoryExpected(text string) string {
	v, _ := inventoryExpected(text)
	return v
}
