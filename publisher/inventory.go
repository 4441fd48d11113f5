package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// InventoryReport summarises an inventory import.
type InventoryReport struct {
	Entries  int
	Statuses map[catalogue.DatasetStatus]int
	Skipped  []string // entries already in the catalogue
}

// ImportInventory loads an inventory of promised datasets (a tab-separated
// file with the columns name, description, release_date, frequency, ogl,
// granularity and publisher) as announced catalogue entries, keeping every
// column's original text.
//
// Only two things are read from the free text, by explicit rules: the
// licence and the status come from the "ogl" column when it starts with
// "yes" (Open Government Licence, planned) or "no" (not open); anything
// else ("tbc", "n/a") leaves the licence as not yet stated and the status
// planned. Dates and frequencies stay as written for the release calendar
// to map.
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
		slug := uniqueSlug(Slugify(entry.Name), slugs)
		entries = append(entries, catalogue.Dataset{
			Slug: slug, Title: entry.Name, Summary: entry.Description, Licence: licence, Status: status,
			Frequency: entry.Frequency, Granularity: entry.Granularity, Announced: true, Inventory: &entry,
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
