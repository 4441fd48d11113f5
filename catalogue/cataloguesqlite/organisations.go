package cataloguesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/candour/candour/catalogue"
)

// PutOrganisations implements catalogue.Store: all or nothing.
func (s *Store) PutOrganisations(ctx context.Context, orgs []catalogue.Organisation) error {
	for i, o := range orgs {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("organisation %d (%s): %w", i+1, o.Code, err)
		}
		if !o.InDirectory {
			return fmt.Errorf("organisation %d (%s): %w: only directory organisations are put; releases name the others", i+1, o.Code, catalogue.ErrInvalid)
		}
	}
	return s.withTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
			INSERT INTO organisations (code, name, type, address, postcode, phone, status, opened, closed,
				parent_code, region_code, successor_code, in_directory, source, details, latitude, longitude, location_source)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, type = excluded.type,
				address = excluded.address, postcode = excluded.postcode, phone = excluded.phone,
				status = excluded.status, opened = excluded.opened, closed = excluded.closed,
				parent_code = excluded.parent_code, region_code = excluded.region_code,
				successor_code = excluded.successor_code, in_directory = 1,
				source = excluded.source, details = excluded.details,
				latitude = COALESCE(excluded.latitude, organisations.latitude),
				longitude = COALESCE(excluded.longitude, organisations.longitude),
				location_source = CASE WHEN excluded.latitude IS NULL THEN organisations.location_source ELSE excluded.location_source END`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, o := range orgs {
			address := o.Address
			if address == nil {
				address = []string{}
			}
			details := make([]detailJSON, 0, len(o.Details))
			for _, d := range o.Details {
				details = append(details, detailJSON{Label: d.Label, Value: d.Value})
			}
			var lat, lon any
			if o.Location != nil {
				lat, lon = o.Location.Lat, o.Location.Lon
			}
			if _, err := stmt.ExecContext(ctx, o.Code, o.Name, string(o.Type), jsonText(address), o.Postcode, o.Phone,
				string(o.Status), o.Opened.String(), o.Closed.String(), o.ParentCode, o.RegionCode, o.SuccessorCode,
				o.Source, jsonText(details), lat, lon, o.LocationSource); err != nil {
				return fmt.Errorf("put organisation %s: %w", o.Code, err)
			}
		}
		return nil
	})
}

// detailJSON is the stored form of a catalogue.Detail, independent of Go
// field names.
type detailJSON struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

func scanOrganisation(sc interface{ Scan(...any) error }) (catalogue.Organisation, error) {
	var o catalogue.Organisation
	var typ, status, address, opened, closed, details string
	var inDir int
	var lat, lon sql.NullFloat64
	if err := sc.Scan(&o.Code, &o.Name, &typ, &address, &o.Postcode, &o.Phone, &status, &opened, &closed,
		&o.ParentCode, &o.RegionCode, &o.SuccessorCode, &inDir, &o.Source, &details, &lat, &lon, &o.LocationSource); err != nil {
		return o, err
	}
	if lat.Valid && lon.Valid {
		o.Location = &catalogue.LatLon{Lat: lat.Float64, Lon: lon.Float64}
	}
	o.Type = catalogue.OrganisationType(typ)
	o.Status = catalogue.OrganisationStatus(status)
	o.InDirectory = inDir == 1
	if err := json.Unmarshal([]byte(address), &o.Address); err != nil {
		return o, fmt.Errorf("organisation %s address: %w", o.Code, err)
	}
	var ds []detailJSON
	if err := json.Unmarshal([]byte(details), &ds); err != nil {
		return o, fmt.Errorf("organisation %s details: %w", o.Code, err)
	}
	for _, d := range ds {
		o.Details = append(o.Details, catalogue.Detail{Label: d.Label, Value: d.Value})
	}
	var err error
	if o.Opened, err = catalogue.ParseDate(opened); err != nil {
		return o, err
	}
	if o.Closed, err = catalogue.ParseDate(closed); err != nil {
		return o, err
	}
	return o, nil
}

// GetOrganisation implements catalogue.Reader.
func (s *Store) GetOrganisation(ctx context.Context, code string, v catalogue.Visibility) (catalogue.Organisation, error) {
	cols, colArgs, err := organisationColumns(v, "o")
	if err != nil {
		return catalogue.Organisation{}, err
	}
	visible, visArgs, err := organisationVisible(v, "o")
	if err != nil {
		return catalogue.Organisation{}, err
	}
	args := append(append(colArgs, code), visArgs...)
	o, err := scanOrganisation(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM organisations o WHERE o.code = ? AND `+visible, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%w: organisation %q", catalogue.ErrNotFound, code)
	}
	if err != nil {
		return o, fmt.Errorf("get organisation %s: %w", code, err)
	}
	return o, nil
}

// GetOrganisations implements catalogue.Reader. The codes are bound as
// one JSON array, so their number never meets SQLite's limit on
// parameters.
func (s *Store) GetOrganisations(ctx context.Context, codes []string, v catalogue.Visibility) ([]catalogue.Organisation, error) {
	cols, colArgs, err := organisationColumns(v, "o")
	if err != nil {
		return nil, err
	}
	visible, visArgs, err := organisationVisible(v, "o")
	if err != nil {
		return nil, err
	}
	if len(codes) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(codes)
	if err != nil {
		return nil, err
	}
	args := append(append(colArgs, string(list)), visArgs...)
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM organisations o WHERE o.code IN (SELECT value FROM json_each(?)) AND `+visible, args...)
	if err != nil {
		return nil, fmt.Errorf("get organisations: %w", err)
	}
	defer rows.Close()
	var out []catalogue.Organisation
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			return nil, fmt.Errorf("get organisations: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// GetPlaces implements catalogue.Reader.
func (s *Store) GetPlaces(ctx context.Context, codes []string, v catalogue.Visibility) ([]catalogue.Place, error) {
	visible, visArgs, err := organisationVisible(v, "o")
	if err != nil {
		return nil, err
	}
	if len(codes) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(codes)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT o.code, o.region_code, o.parent_code FROM organisations o
		WHERE o.code IN (SELECT value FROM json_each(?)) AND `+visible, append([]any{string(list)}, visArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("get places: %w", err)
	}
	defer rows.Close()
	var out []catalogue.Place
	for rows.Next() {
		var p catalogue.Place
		if err := rows.Scan(&p.Code, &p.RegionCode, &p.ParentCode); err != nil {
			return nil, fmt.Errorf("get places: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ListOrganisations implements catalogue.Reader.
func (s *Store) ListOrganisations(ctx context.Context, q catalogue.OrganisationQuery) (catalogue.OrganisationPage, error) {
	cols, colArgs, err := organisationColumns(q.Visibility, "o")
	if err != nil {
		return catalogue.OrganisationPage{}, err
	}
	visible, visArgs, err := organisationVisible(q.Visibility, "o")
	if err != nil {
		return catalogue.OrganisationPage{}, err
	}
	inner := `SELECT ` + cols + ` FROM organisations o WHERE ` + visible
	args := append(colArgs, visArgs...)
	var where []string
	if q.Type != "" {
		where = append(where, "type = ?")
		args = append(args, string(q.Type))
	}
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(q.Status))
	}
	if q.Parent != "" {
		where = append(where, "parent_code = ?")
		args = append(args, q.Parent)
	}
	if q.Region != "" {
		where = append(where, "region_code = ?")
		args = append(args, q.Region)
	}
	if q.Search != "" {
		like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToUpper(q.Search))
		where = append(where, `(upper(code) LIKE ? ESCAPE '\' OR upper(name) LIKE ? ESCAPE '\')`)
		args = append(args, like+"%", "%"+like+"%")
	}
	outer := ""
	if len(where) > 0 {
		outer = " WHERE " + strings.Join(where, " AND ")
	}
	var page catalogue.OrganisationPage
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+inner+`)`+outer, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count organisations: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (`+inner+`)`+outer+` ORDER BY name = '', name, code LIMIT ? OFFSET ?`,
		append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return page, fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			return page, err
		}
		page.Organisations = append(page.Organisations, o)
	}
	return page, rows.Err()
}

// CountOrganisations implements catalogue.Reader.
func (s *Store) CountOrganisations(ctx context.Context, v catalogue.Visibility) ([]catalogue.OrganisationCount, error) {
	cols, colArgs, err := organisationColumns(v, "o")
	if err != nil {
		return nil, err
	}
	visible, visArgs, err := organisationVisible(v, "o")
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT type, status, count(*) FROM (SELECT `+cols+` FROM organisations o WHERE `+visible+`)
		GROUP BY type, status ORDER BY type, status`, append(colArgs, visArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("count organisations: %w", err)
	}
	defer rows.Close()
	var out []catalogue.OrganisationCount
	for rows.Next() {
		var c catalogue.OrganisationCount
		var typ, status string
		if err := rows.Scan(&typ, &status, &c.Count); err != nil {
			return nil, err
		}
		c.Type, c.Status = catalogue.OrganisationType(typ), catalogue.OrganisationStatus(status)
		out = append(out, c)
	}
	return out, rows.Err()
}

// OrganisationsInDirectory implements catalogue.Store.
func (s *Store) OrganisationsInDirectory(ctx context.Context, codes []string) (map[string]bool, error) {
	out := make(map[string]bool, len(codes))
	const chunk = 500
	for start := 0; start < len(codes); start += chunk {
		part := codes[start:min(start+chunk, len(codes))]
		args := make([]any, len(part))
		for i, c := range part {
			args[i] = c
		}
		rows, err := s.db.QueryContext(ctx, `SELECT code FROM organisations WHERE in_directory = 1 AND code IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up organisations: %w", err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			out[c] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetLocations implements catalogue.Store: the locations of directory
// organisations by code, all or nothing; codes not in the directory are
// returned, not stored.
func (s *Store) SetLocations(ctx context.Context, locations map[string]catalogue.LatLon, source string) ([]string, error) {
	var missing []string
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		for code, l := range locations {
			if err := l.Validate(); err != nil {
				return fmt.Errorf("location of %s: %w", code, err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE organisations SET latitude = ?, longitude = ?, location_source = ?
				WHERE code = ? AND in_directory = 1`, l.Lat, l.Lon, source, code)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing = append(missing, code)
			}
		}
		return nil
	})
	return missing, err
}

// PutOutcodes implements catalogue.Store.
func (s *Store) PutOutcodes(ctx context.Context, outcodes map[string]catalogue.LatLon) error {
	return s.withTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO outcodes (outcode, latitude, longitude) VALUES (?, ?, ?)
			ON CONFLICT (outcode) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for code, l := range outcodes {
			if err := l.Validate(); err != nil {
				return fmt.Errorf("outcode %s: %w", code, err)
			}
			if _, err := stmt.ExecContext(ctx, strings.ToUpper(code), l.Lat, l.Lon); err != nil {
				return err
			}
		}
		return nil
	})
}

// Outcodes implements catalogue.Reader: every postcode district centre.
func (s *Store) Outcodes(ctx context.Context) (map[string]catalogue.LatLon, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT outcode, latitude, longitude FROM outcodes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]catalogue.LatLon{}
	for rows.Next() {
		var code string
		var l catalogue.LatLon
		if err := rows.Scan(&code, &l.Lat, &l.Lon); err != nil {
			return nil, err
		}
		out[code] = l
	}
	return out, rows.Err()
}

// ReleaseMentions implements catalogue.Store.
func (s *Store) ReleaseMentions(ctx context.Context, id int64) ([]catalogue.Mention, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code, name, type FROM organisation_mentions WHERE release_id = ? ORDER BY code`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalogue.Mention
	for rows.Next() {
		var m catalogue.Mention
		var typ string
		if err := rows.Scan(&m.Code, &m.Name, &typ); err != nil {
			return nil, err
		}
		m.Type = catalogue.OrganisationType(typ)
		out = append(out, m)
	}
	return out, rows.Err()
}
