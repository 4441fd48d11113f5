package cataloguesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/candour/candour/catalogue"
)

// CreateDataset implements catalogue.Store.
func (s *Store) CreateDataset(ctx context.Context, d catalogue.Dataset) (catalogue.Dataset, error) {
	if err := d.Validate(); err != nil {
		return d, err
	}
	now := s.now()
	d.CreatedAt, d.UpdatedAt = now, now
	topics := d.Topics
	if topics == nil {
		topics = []string{}
	}
	var publisher any
	if d.Publisher.ID != 0 {
		publisher = d.Publisher.ID
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO datasets (slug, title, summary, description, publisher_id, topics, licence, attribution,
				frequency, granularity, status, announced, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Slug, d.Title, d.Summary, d.Description, publisher, jsonText(topics), d.Licence, d.Attribution,
			d.Frequency, d.Granularity, string(d.Status), d.Announced, formatInstant(now), formatInstant(now)).Scan(&d.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: a dataset with slug %q already exists", catalogue.ErrConflict, d.Slug)
		}
		if err != nil {
			return err
		}
		if inv := d.Inventory; inv != nil {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO inventory_entries (dataset_id, source, line, name, description, release_date, frequency, ogl, granularity, publisher, expected)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, inv.Source, inv.Line, inv.Name, inv.Description, inv.ReleaseDate, inv.Frequency, inv.OGL, inv.Granularity, inv.Publisher,
				inv.Expected); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return catalogue.Dataset{}, fmt.Errorf("create dataset %s: %w", d.Slug, err)
	}
	return d, nil
}

// datasetColumns returns the columns read by scanDataset, with the status
// as v sees it; they select from datasetFrom.
func datasetColumns(v catalogue.Visibility) (string, []any, error) {
	status, args, err := datasetStatus(v, "d")
	if err != nil {
		return "", nil, err
	}
	return `d.id, d.slug, d.title, d.summary, d.description,
			COALESCE(p.id, 0), COALESCE(p.slug, ''), COALESCE(p.name, ''), COALESCE(p.url, ''),
			d.topics, d.licence, d.attribution, d.frequency, d.granularity, ` + status + ` AS status, d.announced,
			d.created_at, d.updated_at,
			i.source, i.line, i.name, i.description, i.release_date, i.frequency, i.ogl, i.granularity, i.publisher, i.expected`, args, nil
}

const datasetFrom = ` FROM datasets d
		LEFT JOIN publishers p ON p.id = d.publisher_id
		LEFT JOIN inventory_entries i ON i.dataset_id = d.id`

func scanDataset(sc interface{ Scan(...any) error }, extra ...any) (catalogue.Dataset, error) {
	var d catalogue.Dataset
	var topics, status, created, updated string
	var inv struct {
		source                                                              sql.NullString
		line                                                                sql.NullInt64
		name, description, releaseDate, frequency, ogl, granularity, publis sql.NullString
		expected                                                            sql.NullString
	}
	dest := []any{&d.ID, &d.Slug, &d.Title, &d.Summary, &d.Description,
		&d.Publisher.ID, &d.Publisher.Slug, &d.Publisher.Name, &d.Publisher.URL,
		&topics, &d.Licence, &d.Attribution, &d.Frequency, &d.Granularity, &status, &d.Announced,
		&created, &updated,
		&inv.source, &inv.line, &inv.name, &inv.description, &inv.releaseDate, &inv.frequency, &inv.ogl, &inv.granularity, &inv.publis, &inv.expected}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return d, err
	}
	d.Status = catalogue.DatasetStatus(status)
	if err := json.Unmarshal([]byte(topics), &d.Topics); err != nil {
		return d, fmt.Errorf("dataset %s topics: %w", d.Slug, err)
	}
	var err error
	if d.CreatedAt, err = parseInstant(created); err != nil {
		return d, err
	}
	if d.UpdatedAt, err = parseInstant(updated); err != nil {
		return d, err
	}
	if inv.source.Valid {
		d.Inventory = &catalogue.InventoryEntry{
			Source: inv.source.String, Line: int(inv.line.Int64), Name: inv.name.String,
			Description: inv.description.String, ReleaseDate: inv.releaseDate.String, Frequency: inv.frequency.String,
			OGL: inv.ogl.String, Granularity: inv.granularity.String, Publisher: inv.publis.String, Expected: inv.expected.String,
		}
	}
	return d, nil
}

// GetDataset implements catalogue.Reader.
func (s *Store) GetDataset(ctx context.Context, slug string, v catalogue.Visibility) (catalogue.Dataset, error) {
	cols, colArgs, err := datasetColumns(v)
	if err != nil {
		return catalogue.Dataset{}, err
	}
	listed, listArgs, err := datasetListed(v, "d")
	if err != nil {
		return catalogue.Dataset{}, err
	}
	args := append(append(colArgs, slug), listArgs...)
	d, err := scanDataset(s.db.QueryRowContext(ctx, `SELECT `+cols+datasetFrom+` WHERE d.slug = ? AND `+listed, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: dataset %q", catalogue.ErrNotFound, slug)
	}
	if err != nil {
		return d, fmt.Errorf("get dataset %s: %w", slug, err)
	}
	return d, nil
}

// ListDatasets implements catalogue.Reader.
func (s *Store) ListDatasets(ctx context.Context, q catalogue.DatasetQuery) (catalogue.DatasetPage, error) {
	var page catalogue.DatasetPage
	cols, colArgs, err := datasetColumns(q.Visibility)
	if err != nil {
		return page, err
	}
	listed, listArgs, err := datasetListed(q.Visibility, "d")
	if err != nil {
		return page, err
	}
	countListed, countArgs, err := releaseListed(q.Visibility, "cr")
	if err != nil {
		return page, err
	}
	latestListed, latestArgs, err := releaseListed(q.Visibility, "xr")
	if err != nil {
		return page, err
	}
	// Wrapped so that the status filter applies to the status as the
	// reader sees it.
	inner := `(SELECT ` + cols + `,
			(SELECT count(*) FROM releases cr WHERE cr.dataset_id = d.id AND ` + countListed + `) AS release_count,
			(SELECT xr.id FROM releases xr WHERE xr.dataset_id = d.id AND ` + latestListed + `
				ORDER BY xr.published_at DESC, xr.version DESC LIMIT 1) AS latest_id
		` + datasetFrom + ` WHERE ` + listed + `)`
	args := append(append(append(append([]any{}, colArgs...), countArgs...), latestArgs...), listArgs...)
	where := ""
	if q.Status != "" {
		where = " WHERE status = ?"
		args = append(args, string(q.Status))
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+inner+where, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count datasets: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM `+inner+where+` ORDER BY title COLLATE NOCASE, slug LIMIT ? OFFSET ?`,
		append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return page, fmt.Errorf("list datasets: %w", err)
	}
	var latest []int64
	for rows.Next() {
		var sum catalogue.DatasetSummary
		var latestID sql.NullInt64
		d, err := scanDataset(rows, &sum.Releases, &latestID)
		if err != nil {
			rows.Close()
			return page, err
		}
		sum.Dataset = d
		page.Datasets = append(page.Datasets, sum)
		latest = append(latest, latestID.Int64)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}
	for i, id := range latest {
		if id == 0 {
			continue
		}
		r, err := s.releaseByID(ctx, id, false)
		if err != nil {
			return page, err
		}
		page.Datasets[i].Latest = &r
	}
	return page, nil
}
