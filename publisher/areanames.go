package publisher

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/candour/candour/catalogue"
)

// Area names. The ODS directories name practices and trusts but not the
// NHS England regions and integrated care boards they belong to, so those
// are loaded by code only (ImportPractices). Other published files name
// them, and ImportAreaNames takes the names from them:
//
//   - the NHS payments to general practice file names every region
//     ("NHS England (Region) code", "NHS England (Region) Name") and every
//     sub-ICB location ("CCG Code", "Sub ICB NAME", written "NHS NORTH EAST
//     AND NORTH CUMBRIA ICB - 16C"): the board's name is the location's
//     without its " - code" suffix, and which board a row's practice
//     belongs to is the directory's (its open GP practice's parent);
//   - the CQC ratings file of GP practices names each practice's board
//     ("Practice.Code", "ICB_NAME", written "North East and North
//     Cumbria").
//
// A file is recognised by its header. Names are counted per area over the
// rows of open GP practices (a closed practice's directory parent is often
// a code that no longer exists). The rule that chooses, deterministically:
// the first file given that names an area wins (the demo gives the
// payments file first: it names every region and board); within a file,
// the name given by the most rows, ties to the alphabetically first.
// Every other name given for the area is a conflict — unless it is the
// same name in another form (letter case, "NHS … ICB", "… commissioning
// region") — and is reported: in the import's notes (the demo's log), in
// the server log as a warning, and on the area's own record, as details
// ("Other name in the data") that its organisation page and area page
// show. The chosen name is kept as the file writes it; pages show it in
// title case.

// areaNameFile is one file's layout: the columns it names areas with.
type areaNameFile struct {
	label                  string
	practice               string // the practice code column
	icbName, subICB        string // the board's (or sub-ICB location's) name, and the location's code
	regionCode, regionName string
}

var areaNameLayouts = []areaNameFile{
	{label: "NHS payments to general practice", practice: "Practice Code", icbName: "Sub ICB NAME", subICB: "CCG Code",
		regionCode: "NHS England (Region) code", regionName: "NHS England (Region) Name"},
	{label: "CQC ratings of GP practices", practice: "Practice.Code", icbName: "ICB_NAME"},
}

// AreaNameFile is a file to take area names from.
type AreaNameFile struct {
	Name string // the file's name, for reports
	R    io.Reader
}

// areaVote is one name given for one area by one file.
type areaVote struct {
	name, source string
	rows         int
}

// ImportAreaNames names the regions and integrated care boards the
// directory holds from files (see above), in order of precedence, and
// reports every conflict. Areas no file names keep their codes. A file
// whose header matches no known layout, or that cannot be read, is
// refused with its name and nothing is stored.
func (s *Service) ImportAreaNames(ctx context.Context, files []AreaNameFile) (DirectoryReport, error) {
	report := DirectoryReport{Counts: map[string]int{}}
	var labels []string
	areas := map[string]*catalogue.Organisation{}
	for _, typ := range []catalogue.OrganisationType{catalogue.TypeRegion, catalogue.TypeICB} {
		page, err := s.catalogue.ListOrganisations(ctx, catalogue.OrganisationQuery{Visibility: catalogue.Internal(), Type: typ, Limit: 100000})
		if err != nil {
			return report, err
		}
		for _, o := range page.Organisations {
			if o.InDirectory {
				areas[o.Code] = &o
			}
		}
	}
	practices, err := s.catalogue.ListOrganisations(ctx, catalogue.OrganisationQuery{Visibility: catalogue.Internal(),
		Type: catalogue.TypeGPPractice, Status: catalogue.StatusActive, Limit: 1000000})
	if err != nil {
		return report, err
	}
	boardOf := map[string]string{}
	for _, p := range practices.Organisations {
		boardOf[p.Code] = p.ParentCode
	}

	votes := map[string][]areaVote{} // area code → names, in file order
	for _, f := range files {
		fileVotes, layout, rows, err := readAreaNames(f, boardOf)
		if err != nil {
			return report, err
		}
		report.Rows += rows
		source := layout.label + " (" + f.Name + ")"
		labels = append(labels, source)
		for code, names := range fileVotes {
			for name, n := range names {
				votes[code] = append(votes[code], areaVote{name: name, source: source, rows: n})
			}
		}
	}
	report.Source = "area names from " + strings.Join(labels, ", then ")

	var named []catalogue.Organisation
	var unnamed []string
	for _, code := range slices.Sorted(maps.Keys(areas)) {
		o := *areas[code]
		vs := votes[code]
		if len(vs) == 0 {
			unnamed = append(unnamed, code)
			continue
		}
		chosen, others := chooseAreaName(vs, labels)
		o.Name = chosen.name
		o.Details = slices.DeleteFunc(slices.Clone(o.Details), func(d catalogue.Detail) bool {
			return d.Label == "Name from" || d.Label == "Other name in the data"
		})
		o.Details = append(o.Details, catalogue.Detail{Label: "Name from", Value: chosen.source})
		for _, v := range others {
			o.Details = append(o.Details, catalogue.Detail{Label: "Other name in the data", Value: fmt.Sprintf("%s (%s, %d rows)", v.name, v.source, v.rows)})
			note := fmt.Sprintf("name conflict for %s %s: %q (%s, %d rows) chosen over %q (%s, %d rows)",
				o.Type.Label(), code, chosen.name, chosen.source, chosen.rows, v.name, v.source, v.rows)
			report.Notes = append(report.Notes, note)
			s.log.Warn("area name conflict", "area", code, "chosen", chosen.name, "chosen_source", chosen.source, "other", v.name, "other_source", v.source)
		}
		named = append(named, o)
		report.Counts[o.Type.Plural()+" named"]++
	}
	if err := s.catalogue.PutOrganisations(ctx, named); err != nil {
		return report, err
	}
	if len(unnamed) > 0 {
		report.Notes = append(report.Notes, fmt.Sprintf("%d area codes are named by none of the files and keep their codes: %s", len(unnamed), strings.Join(unnamed, ", ")))
	}
	return report, nil
}

// chooseAreaName applies the rule: the first file's most frequent name
// (ties alphabetical); the others that are not the same name in another
// form are conflicts, most frequent first.
func chooseAreaName(vs []areaVote, order []string) (areaVote, []areaVote) {
	rank := func(v areaVote) int { return slices.Index(order, v.source) }
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.rows != b.rows {
			return a.rows > b.rows
		}
		return a.name < b.name
	})
	chosen := vs[0]
	var others []areaVote
	for _, v := range vs[1:] {
		if sameAreaName(v.name, chosen.name) {
			continue
		}
		others = append(others, v)
	}
	return chosen, others
}

var areaNameNoise = regexp.MustCompile(`^nhs |( integrated care board| icb| commissioning region| comm region)$`)

// sameAreaName reports whether two names are one name in different forms:
// letter case, spacing, "NHS … ICB", "… commissioning region".
func sameAreaName(a, b string) bool {
	norm := func(s string) string {
		s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
		for {
			t := areaNameNoise.ReplaceAllString(s, "")
			if t == s {
				return s
			}
			s = t
		}
	}
	return norm(a) == norm(b)
}

// readAreaNames reads one file's names: area code → name → rows.
func readAreaNames(f AreaNameFile, boardOf map[string]string) (map[string]map[string]int, areaNameFile, int, error) {
	cr := csv.NewReader(f.R)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, areaNameFile{}, 0, fmt.Errorf("area names: %s: reading the header: %w", f.Name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	col := func(name string) int {
		if name == "" {
			return -1
		}
		return slices.Index(header, name)
	}
	var layout areaNameFile
	found := false
	for _, l := range areaNameLayouts {
		if col(l.practice) >= 0 && col(l.icbName) >= 0 && (l.subICB == "" || col(l.subICB) >= 0) &&
			(l.regionCode == "" || col(l.regionCode) >= 0 && col(l.regionName) >= 0) {
			layout, found = l, true
			break
		}
	}
	if !found {
		return nil, layout, 0, fmt.Errorf("area names: %s: %w: the header matches no known layout (the NHS payments to general practice file, or the CQC ratings of GP practices)", f.Name, ErrInvalid)
	}
	practice, icbName, subICB, regionCode, regionName := col(layout.practice), col(layout.icbName), col(layout.subICB), col(layout.regionCode), col(layout.regionName)
	out := map[string]map[string]int{}
	vote := func(code, name string) {
		name = strings.Join(strings.Fields(name), " ")
		if code == "" || name == "" || strings.EqualFold(name, "NA") {
			return
		}
		if out[code] == nil {
			out[code] = map[string]int{}
		}
		out[code][name]++
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, layout, rows, fmt.Errorf("area names: %s: %w", f.Name, err)
		}
		rows++
		cell := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		board, open := boardOf[cell(practice)]
		if !open {
			continue // a closed practice, or one the directory lacks
		}
		if regionCode >= 0 {
			vote(cell(regionCode), cell(regionName))
		}
		name := cell(icbName)
		if code := cell(subICB); code != "" {
			name = strings.TrimSpace(strings.TrimSuffix(name, code))
			name = strings.TrimSpace(strings.TrimSuffix(name, "-"))
		}
		vote(board, name)
	}
	return out, layout, rows, nil
}
