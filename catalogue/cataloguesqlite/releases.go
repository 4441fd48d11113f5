package cataloguesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
)

const releaseColumns = `r.id, r.dataset_id, d.slug, d.title, r.version, r.title, r.summary, r.period_label,
	r.period_start, r.period_end, r.state, r.created_at, r.state_changed_at, r.published_at,
	r.withdrawn_reason, r.change_notes, r.quality, r.embargo_at, r.submitted_by,
	COALESCE(r.corrects, 0), COALESCE((SELECT cr.version FROM releases cr WHERE cr.id = r.corrects), 0), r.correction_notice,
	COALESCE(r.replaced_by, 0), COALESCE((SELECT rr.version FROM releases rr WHERE rr.id = r.replaced_by), 0),
	r.disclosure_summary, r.audit_head_seq, r.audit_head_hash`

const releaseFrom = ` FROM releases r JOIN datasets d ON d.id = r.dataset_id`

func scanRelease(sc interface{ Scan(...any) error }) (catalogue.Release, error) {
	var r catalogue.Release
	var start, end, state, created, changed, quality string
	var published, embargo sql.NullString
	if err := sc.Scan(&r.ID, &r.DatasetID, &r.Dataset.Slug, &r.Dataset.Title, &r.Version, &r.Title, &r.Summary,
		&r.PeriodLabel, &start, &end, &state, &created, &changed, &published,
		&r.WithdrawnReason, &r.ChangeNotes, &quality, &embargo, &r.SubmittedBy,
		&r.Corrects.ID, &r.Corrects.Version, &r.CorrectionNotice, &r.ReplacedBy.ID, &r.ReplacedBy.Version,
		&r.DisclosureSummary, &r.AuditHead.Seq, &r.AuditHead.Hash); err != nil {
		return r, err
	}
	r.State = catalogue.ReleaseState(state)
	var err error
	if r.PeriodStart, err = catalogue.ParseDate(start); err != nil {
		return r, err
	}
	if r.PeriodEnd, err = catalogue.ParseDate(end); err != nil {
		return r, err
	}
	if r.CreatedAt, err = parseInstant(created); err != nil {
		return r, err
	}
	if r.StateChangedAt, err = parseInstant(changed); err != nil {
		return r, err
	}
	if r.PublishedAt, err = parseNullInstant(published); err != nil {
		return r, err
	}
	if r.EmbargoAt, err = parseNullInstant(embargo); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(quality), &r.Quality); err != nil {
		return r, fmt.Errorf("release %d quality: %w", r.ID, err)
	}
	return r, nil
}

// CreateRelease implements catalogue.Store.
func (s *Store) CreateRelease(ctx context.Context, r catalogue.Release, files []catalogue.File, mentions []catalogue.Mention) (catalogue.Release, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	if err := checkFiles(files); err != nil {
		return r, err
	}
	for _, m := range mentions {
		if err := (catalogue.Organisation{Code: m.Code, Type: catalogue.TypeUnknown, Status: catalogue.StatusUnknown}).Validate(); err != nil {
			return r, fmt.Errorf("organisation code in release: %w", err)
		}
		if m.Type != "" && !m.Type.Valid() {
			return r, fmt.Errorf("%w: organisation %s: unknown type %q", catalogue.ErrInvalid, m.Code, m.Type)
		}
	}
	now := s.now()
	r.State = catalogue.StateDraft
	r.CreatedAt, r.StateChangedAt, r.PublishedAt = now, now, time.Time{}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT slug, title FROM datasets WHERE id = ?`, r.DatasetID).
			Scan(&r.Dataset.Slug, &r.Dataset.Title); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: dataset %d", catalogue.ErrNotFound, r.DatasetID)
		} else if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE dataset_id = ?`, r.DatasetID).
			Scan(&r.Version); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO releases (dataset_id, version, title, summary, period_label, period_start, period_end, state,
				created_at, state_changed_at, change_notes, quality, submitted_by, corrects, correction_notice, disclosure_summary)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.DatasetID, r.Version, r.Title, r.Summary, r.PeriodLabel, r.PeriodStart.String(), r.PeriodEnd.String(),
			string(r.State), formatInstant(now), formatInstant(now), r.ChangeNotes, jsonText(r.Quality),
			r.SubmittedBy, nullID(r.Corrects.ID), r.CorrectionNotice, r.DisclosureSummary).Scan(&r.ID); err != nil {
			return err
		}
		if r.Corrects.ID != 0 {
			if err := tx.QueryRowContext(ctx, `SELECT version FROM releases WHERE id = ? AND dataset_id = ?`, r.Corrects.ID, r.DatasetID).
				Scan(&r.Corrects.Version); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: release.corrects: release %d is not a release of this dataset", catalogue.ErrInvalid, r.Corrects.ID)
			} else if err != nil {
				return err
			}
		}
		var err error
		if r.Files, err = insertFiles(ctx, tx, r.ID, files); err != nil {
			return err
		}
		org, err := tx.PrepareContext(ctx, `INSERT INTO organisations (code, type, status, in_directory, source)
			VALUES (?, 'unknown', 'unknown', 0, 'dataset') ON CONFLICT (code) DO NOTHING`)
		if err != nil {
			return err
		}
		defer org.Close()
		mention, err := tx.PrepareContext(ctx, `INSERT INTO organisation_mentions (code, release_id, name, type) VALUES (?, ?, ?, ?)
			ON CONFLICT (code, release_id) DO UPDATE SET
				name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE organisation_mentions.name END,
				type = CASE WHEN excluded.type NOT IN ('', 'unknown') THEN excluded.type ELSE organisation_mentions.type END`)
		if err != nil {
			return err
		}
		defer mention.Close()
		for _, m := range mentions {
			if _, err := org.ExecContext(ctx, m.Code); err != nil {
				return fmt.Errorf("organisation %s: %w", m.Code, err)
			}
			if _, err := mention.ExecContext(ctx, m.Code, r.ID, m.Name, string(m.Type)); err != nil {
				return fmt.Errorf("organisation %s: %w", m.Code, err)
			}
		}
		return insertEvent(ctx, tx, catalogue.Event{Release: r.ID, From: "", To: catalogue.StateDraft, At: now, Actor: "submission"})
	})
	if err != nil {
		return catalogue.Release{}, fmt.Errorf("create release of dataset %d: %w", r.DatasetID, err)
	}
	return r, nil
}

// insertFiles records a release's files.
func insertFiles(ctx context.Context, tx *sql.Tx, release int64, files []catalogue.File) ([]catalogue.File, error) {
	var out []catalogue.File
	for _, f := range files {
		f.ReleaseID = release
		resource := string(f.Resource)
		if resource == "" {
			resource = "{}"
		}
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO release_files (release_id, name, title, role, media_type, encoding, sha256, bytes, rows, resource)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			release, f.Name, f.Title, string(f.Role), f.MediaType, f.Encoding, f.SHA256, f.Bytes, f.Rows, resource).Scan(&f.ID); err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// checkFiles validates files and their names' uniqueness within a role.
func checkFiles(files []catalogue.File) error {
	seen := map[string]bool{}
	for _, f := range files {
		if err := f.Validate(); err != nil {
			return err
		}
		key := string(f.Role) + "/" + f.Name
		if seen[key] {
			return fmt.Errorf("%w: file.name: %q appears twice", catalogue.ErrInvalid, f.Name)
		}
		seen[key] = true
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func insertEvent(ctx context.Context, tx *sql.Tx, e catalogue.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO release_events (release_id, from_state, to_state, at, actor, note) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Release, string(e.From), string(e.To), formatInstant(e.At), e.Actor, e.Note)
	return err
}

// TransitionRelease implements catalogue.Store: one transaction.
func (s *Store) TransitionRelease(ctx context.Context, t catalogue.Transition) (catalogue.Release, error) {
	if err := s.withTx(ctx, func(tx *sql.Tx) error { return s.InTx(tx).TransitionRelease(ctx, t) }); err != nil {
		return catalogue.Release{}, err
	}
	return s.ReleaseByID(ctx, t.Release)
}

// ReleaseByID implements catalogue.Store.
func (s *Store) ReleaseByID(ctx context.Context, id int64) (catalogue.Release, error) {
	return s.releaseByID(ctx, id, true)
}

func (s *Store) releaseByID(ctx context.Context, id int64, withFiles bool) (catalogue.Release, error) {
	r, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseColumns+releaseFrom+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: release %d", catalogue.ErrNotFound, id)
	}
	if err != nil {
		return r, fmt.Errorf("get release %d: %w", id, err)
	}
	r.ContentVisible = r.State.ContentPublic()
	if withFiles {
		r.Files, err = s.files(ctx, id, false)
	}
	return r, err
}

func (s *Store) files(ctx context.Context, release int64, publicOnly bool) ([]catalogue.File, error) {
	q := `SELECT id, release_id, name, title, role, media_type, encoding, sha256, bytes, rows, resource
		FROM release_files WHERE release_id = ?`
	if publicOnly {
		q += ` AND role = 'public'`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY role DESC, id`, release)
	if err != nil {
		return nil, fmt.Errorf("files of release %d: %w", release, err)
	}
	defer rows.Close()
	var out []catalogue.File
	for rows.Next() {
		var f catalogue.File
		var role, resource string
		if err := rows.Scan(&f.ID, &f.ReleaseID, &f.Name, &f.Title, &role, &f.MediaType, &f.Encoding, &f.SHA256,
			&f.Bytes, &f.Rows, &resource); err != nil {
			return nil, err
		}
		f.Role = catalogue.FileRole(role)
		f.Resource = json.RawMessage(resource)
		out = append(out, f)
	}
	return out, rows.Err()
}

// GetRelease implements catalogue.Reader.
func (s *Store) GetRelease(ctx context.Context, datasetSlug string, version int, v catalogue.Visibility) (catalogue.Release, error) {
	listed, args, err := releaseListed(v, "r")
	if err != nil {
		return catalogue.Release{}, err
	}
	r, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseColumns+releaseFrom+`
		WHERE d.slug = ? AND r.version = ? AND `+listed, append([]any{datasetSlug, version}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: %s version %d", catalogue.ErrNotFound, datasetSlug, version)
	}
	if err != nil {
		return r, fmt.Errorf("get release %s version %d: %w", datasetSlug, version, err)
	}
	r.ContentVisible = r.State.ContentPublic()
	if v.IsInternal() {
		r.Files, err = s.files(ctx, r.ID, false)
	} else if r.ContentVisible {
		r.Files, err = s.files(ctx, r.ID, true)
	}
	return r, err
}

// ListReleases implements catalogue.Reader.
func (s *Store) ListReleases(ctx context.Context, q catalogue.ReleaseQuery) ([]catalogue.Release, error) {
	listed, args, err := releaseListed(q.Visibility, "r")
	if err != nil {
		return nil, err
	}
	where := []string{listed}
	if len(q.States) > 0 {
		marks := strings.Repeat("?, ", len(q.States))
		where = append(where, "r.state IN ("+marks[:len(marks)-2]+")")
		for _, st := range q.States {
			args = append(args, string(st))
		}
	}
	if q.DatasetID != 0 {
		where = append(where, "r.dataset_id = ?")
		args = append(args, q.DatasetID)
	}
	if q.State != "" {
		where = append(where, "r.state = ?")
		args = append(args, string(q.State))
	}
	if q.Mentions != "" {
		// A mention is content: only releases whose content is visible.
		content, cargs, err := releaseContent(q.Visibility, "r")
		if err != nil {
			return nil, err
		}
		where = append(where, content, "EXISTS (SELECT 1 FROM organisation_mentions m WHERE m.release_id = r.id AND m.code = ?)")
		args = append(append(args, cargs...), q.Mentions)
	}
	order := " ORDER BY d.title, r.version DESC"
	if q.DatasetID != 0 {
		order = " ORDER BY r.version DESC"
	}
	if q.Newest {
		order = " ORDER BY r.published_at DESC, r.id DESC"
	}
	query := `SELECT ` + releaseColumns + releaseFrom + ` WHERE ` + strings.Join(where, " AND ") + order
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	defer rows.Close()
	var out []catalogue.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, err
		}
		r.ContentVisible = r.State.ContentPublic()
		out = append(out, r)
	}
	return out, rows.Err()
}

// readContentVisible reads the ids of the releases whose content v shows.
func (s *Store) readContentVisible(ctx context.Context, v catalogue.Visibility) ([]int64, error) {
	content, args, err := releaseContent(v, "r")
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT r.id FROM releases r WHERE `+content+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("visible releases: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReleaseEvents implements catalogue.Store.
func (s *Store) ReleaseEvents(ctx context.Context, id int64) ([]catalogue.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT release_id, from_state, to_state, at, actor, note FROM release_events
		WHERE release_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("events of release %d: %w", id, err)
	}
	defer rows.Close()
	var out []catalogue.Event
	for rows.Next() {
		var e catalogue.Event
		var from, to, at string
		if err := rows.Scan(&e.Release, &from, &to, &at, &e.Actor, &e.Note); err != nil {
			return nil, err
		}
		e.From, e.To = catalogue.ReleaseState(from), catalogue.ReleaseState(to)
		if e.At, err = parseInstant(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
