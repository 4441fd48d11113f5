package publisher

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Place reference data: hospital sites (with their own positions), trust
// headquarters positions, and postcode district (outcode) centres, for
// place search. Like the ODS directories they are public on arrival.
// Nothing is stored if any row has a problem, and every problem names its
// row and column.

// ImportHospitalSites loads the NHS website's hospital sites file
// (`~`-delimited, Windows-1252): each site becomes a directory
// organisation of type hospital site with its position and parent trust.
// A site whose code the directory already holds as another kind of
// organisation is left alone and reported.
func (s *Service) ImportHospitalSites(ctx context.Context, r io.Reader, name string, size int64, progress Progress) (DirectoryReport, error) {
	res, err := loadResource("hospital-sites.resource.json")
	if err != nil {
		return DirectoryReport{}, err
	}
	source := "NHS website hospital sites (" + name + ")"
	var sites []catalogue.Organisation
	idx := map[string]int{}
	for i, f := range res.Schema.Fields {
		idx[f.Name] = i
	}
	report := DirectoryReport{Source: source, Counts: map[string]int{}}
	if progress == nil {
		progress = noProgress
	}
	counter := &progressReader{r: r, step: "reading " + name, total: size, progress: progress}
	rd, err := datasets.NewReader(counter, name, res)
	if err != nil {
		return report, &Rejection{Files: asProblems(err, name)}
	}
	var problems datasets.Problems
	seen := map[string]int{}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, asProblems(err, name)...)
			if row.Number == 0 || len(problems) >= maxProblemsPerFile {
				break
			}
			continue
		}
		c, v := row.Cells, row.Values
		code := c[idx["OrganisationCode"]]
		if first, dup := seen[code]; dup {
			problems = append(problems, datasets.Problem{File: name, Row: row.Record, Line: row.Line, Column: idx["OrganisationCode"] + 1,
				Field: "OrganisationCode", Value: code, Offset: -1, Message: fmt.Sprintf("site %s is listed twice (first at row %d)", code, first)})
			continue
		}
		seen[code] = row.Record
		o := catalogue.Organisation{Code: code, Name: c[idx["OrganisationName"]], Type: catalogue.TypeHospitalSite,
			Status: catalogue.StatusActive, Postcode: c[idx["Postcode"]], Phone: c[idx["Phone"]], ParentCode: c[idx["ParentODSCode"]],
			InDirectory: true, Source: source}
		for _, f := range []string{"Address1", "Address2", "Address3", "City", "County"} {
			if line := strings.TrimSpace(c[idx[f]]); line != "" {
				o.Address = append(o.Address, line)
			}
		}
		o.Details = appendDetail(o.Details, "Sector", c[idx["Sector"]])
		o.Details = appendDetail(o.Details, "Run by", c[idx["ParentName"]])
		o.Details = appendDetail(o.Details, "Website", c[idx["Website"]])
		lat, lon := v[idx["Latitude"]], v[idx["Longitude"]]
		if lat.Kind == datasets.KindNumber && lon.Kind == datasets.KindNumber {
			o.Location = &catalogue.LatLon{Lat: lat.Float, Lon: lon.Float}
			o.LocationSource = "the hospital site"
		}
		if err := o.Validate(); err != nil {
			problems = append(problems, datasets.Problem{File: name, Row: row.Record, Line: row.Line, Offset: -1, Message: err.Error()})
			continue
		}
		sites = append(sites, o)
		report.Rows++
	}
	counter.finish()
	if len(problems) > 0 {
		return report, &Rejection{Files: problems}
	}
	codes := make([]string, len(sites))
	for i, o := range sites {
		codes[i] = o.Code
	}
	existing, err := s.catalogue.OrganisationsInDirectory(ctx, codes)
	if err != nil {
		return report, err
	}
	kept := sites[:0]
	for _, o := range sites {
		if existing[o.Code] {
			prev, err := s.catalogue.GetOrganisation(ctx, o.Code, catalogue.Internal())
			if err == nil && prev.Type != catalogue.TypeHospitalSite {
				report.Notes = append(report.Notes, fmt.Sprintf("site %s (%s) has the code of %s %s; the site was not loaded",
					o.Code, o.Name, strings.ToLower(prev.Type.Label()), prev.Name))
				continue
			}
		}
		kept = append(kept, o)
	}
	if err := s.catalogue.PutOrganisations(ctx, kept); err != nil {
		return report, err
	}
	report.Counts["Hospital sites"] = len(kept)
	return report, nil
}

// readPoints reads a small comma-separated file of named points with a
// header: the key column and the latitude and longitude columns named.
// Problems name the row and column.
func readPoints(r io.Reader, name, keyCol, latCol, lonCol string) (map[string]catalogue.LatLon, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, &Rejection{Files: datasets.Problems{{File: name, Row: 1, Offset: -1, Message: "no header: " + err.Error()}}}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, want := range []string{keyCol, latCol, lonCol} {
		if _, ok := col[want]; !ok {
			return nil, &Rejection{Files: datasets.Problems{{File: name, Row: 1, Field: want, Offset: -1,
				Message: fmt.Sprintf("the header has no column %q (it has %s)", want, strings.Join(header, ", "))}}}
		}
	}
	out := map[string]catalogue.LatLon{}
	var problems datasets.Problems
	for rowNo := 2; ; rowNo++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, datasets.Problem{File: name, Row: rowNo, Line: pe.Line, Offset: -1, Message: pe.Err.Error()})
				break
			}
			return nil, err
		}
		cell := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		num := func(c string) (float64, bool) {
			f, err := strconv.ParseFloat(cell(c), 64)
			if err != nil {
				problems = append(problems, datasets.Problem{File: name, Row: rowNo, Column: col[c] + 1, Field: c, Value: cell(c), Offset: -1,
					Message: fmt.Sprintf("%q is not a number", cell(c))})
				return 0, false
			}
			return f, true
		}
		key := strings.ToUpper(cell(keyCol))
		if key == "" {
			problems = append(problems, datasets.Problem{File: name, Row: rowNo, Column: col[keyCol] + 1, Field: keyCol, Offset: -1, Message: "empty"})
			continue
		}
		lat, ok1 := num(latCol)
		lon, ok2 := num(lonCol)
		if !ok1 || !ok2 {
			continue
		}
		p := catalogue.LatLon{Lat: lat, Lon: lon}
		if err := p.Validate(); err != nil {
			problems = append(problems, datasets.Problem{File: name, Row: rowNo, Column: col[latCol] + 1, Field: latCol, Offset: -1, Message: err.Error()})
			continue
		}
		out[key] = p
		if len(problems) >= maxProblemsPerFile {
			break
		}
	}
	if len(problems) > 0 {
		return nil, &Rejection{Files: problems}
	}
	return out, nil
}

// ImportOutcodes loads postcode district centres (header
// id,outcode,latitude,longitude). They are approximate: distances from
// them are shown as approximate.
func (s *Service) ImportOutcodes(ctx context.Context, r io.Reader, name string) (int, error) {
	points, err := readPoints(r, name, "outcode", "latitude", "longitude")
	if err != nil {
		return 0, err
	}
	return len(points), s.catalogue.PutOutcodes(ctx, points)
}

// ImportTrustLocations loads trust headquarters positions by postcode
// (header pcds,lat,long) and gives them to the NHS trusts with that
// postcode. It returns how many trusts were placed.
func (s *Service) ImportTrustLocations(ctx context.Context, r io.Reader, name string) (int, error) {
	points, err := readPoints(r, name, "pcds", "lat", "long")
	if err != nil {
		return 0, err
	}
	page, err := s.catalogue.ListOrganisations(ctx, catalogue.OrganisationQuery{Visibility: catalogue.Internal(), Type: catalogue.TypeNHSTrust, Limit: 100000})
	if err != nil {
		return 0, err
	}
	locations := map[string]catalogue.LatLon{}
	for _, o := range page.Organisations {
		if p, ok := points[strings.ToUpper(strings.TrimSpace(o.Postcode))]; ok {
			locations[o.Code] = p
		}
	}
	if _, err := s.catalogue.SetLocations(ctx, locations, "the trust's headquarters"); err != nil {
		return 0, err
	}
	return len(locations), nil
}
