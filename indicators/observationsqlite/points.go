package observationsqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/candour/candour/indicators"
)

// Packed points: observation_points holds, per organisation and release,
// the points of the organisation's observations as one JSON array
// (migration 0007). An organisation's series are read from there: a row
// per visible release, decoded here, instead of a row per observation.

// writePoints packs a release's points by organisation, in tx.
func writePoints(ctx context.Context, tx *sql.Tx, release int64, points []indicators.Point) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM observation_points WHERE release_id = ?`, release); err != nil {
		return err
	}
	byOrg := map[string][]indicators.Point{}
	var orgs []string
	for _, o := range points {
		if _, ok := byOrg[o.Organisation]; !ok {
			orgs = append(orgs, o.Organisation)
		}
		byOrg[o.Organisation] = append(byOrg[o.Organisation], o)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO observation_points (organisation, release_id, points) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, org := range orgs {
		list := byOrg[org]
		slices.SortStableFunc(list, func(a, b indicators.Point) int { return cmp.Compare(a.Indicator, b.Indicator) })
		packed := make([][8]any, len(list))
		for i, o := range list {
			packed[i] = [8]any{o.Indicator, o.Period, o.PeriodStart, o.Numerator, o.Denominator, o.Value, o.Lower95, o.Upper95}
		}
		raw, err := json.Marshal(packed)
		if err != nil {
			return fmt.Errorf("points of %s: %w", org, err)
		}
		if _, err := stmt.ExecContext(ctx, org, release, string(raw)); err != nil {
			return fmt.Errorf("points of %s: %w", org, err)
		}
	}
	return nil
}

// organisationPoints reads the points of one organisation (q.Organisation)
// from observation_points, keeping what q selects, in the order
// Observations reads: by indicator, period start and release.
func (s *Store) organisationPoints(ctx context.Context, q indicators.ObservationQuery) ([]indicators.Point, error) {
	if q.Organisations != nil && !slices.Contains(q.Organisations, q.Organisation) {
		return nil, nil
	}
	in, args := visibleIn(q)
	rows, err := s.db.QueryContext(ctx, `SELECT release_id, points FROM observation_points WHERE organisation = ? AND release_id IN `+in,
		append([]any{q.Organisation}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	d := pointDecoder{strings: map[string]string{}}
	var packs [][]indicators.Point // each by indicator; in release order, as the primary key reads them
	n := 0
	for rows.Next() {
		var release int64
		var raw sql.RawBytes
		if err := rows.Scan(&release, &raw); err != nil {
			return nil, err
		}
		if q.Release != 0 && release != q.Release {
			continue
		}
		pts, err := d.decode(raw, release, q.Organisation, q.Indicator)
		if err != nil {
			return nil, fmt.Errorf("points of %s in release %d: %w", q.Organisation, release, err)
		}
		packs = append(packs, pts)
		n += len(pts)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return mergePacks(packs, n), nil
}

// mergePacks merges packs, each ordered by indicator, into one list
// ordered by indicator, period start and release: a merge by indicator
// keeping pack order, then each indicator's run sorted in place (it is
// short, and usually in order already).
func mergePacks(packs [][]indicators.Point, n int) []indicators.Point {
	out := make([]indicators.Point, 0, n)
	pos := make([]int, len(packs))
	for len(out) < n {
		least := ""
		found := false
		for i, pack := range packs {
			if pos[i] < len(pack) && (!found || pack[pos[i]].Indicator < least) {
				least, found = pack[pos[i]].Indicator, true
			}
		}
		start := len(out)
		for i, pack := range packs {
			for pos[i] < len(pack) && pack[pos[i]].Indicator == least {
				out = append(out, pack[pos[i]])
				pos[i]++
			}
		}
		run := out[start:]
		for i := 1; i < len(run); i++ {
			for j := i; j > 0 && pointBefore(run[j], run[j-1]); j-- {
				run[j], run[j-1] = run[j-1], run[j]
			}
		}
	}
	return out
}

func pointBefore(a, b indicators.Point) bool {
	if a.PeriodStart != b.PeriodStart {
		return a.PeriodStart < b.PeriodStart
	}
	return a.Release < b.Release
}

var errPoints = errors.New("not a packed array of points")

// decode returns the points packed in raw (a JSON array of [indicator,
// period, period_start, numerator, denominator, value, lower95, upper95]
// arrays), keeping only indicator's when it is not "". It reads the one
// shape written here, without reflection; the values of a pack share one
// allocation, and repeated text one string.
func (d *pointDecoder) decode(raw []byte, release int64, org, indicator string) ([]indicators.Point, error) {
	d.b, d.i = raw, 0
	if !d.byte('[') {
		return nil, errPoints
	}
	var out []indicators.Point
	if d.peek() == ']' {
		return out, nil
	}
	for {
		p := indicators.Point{Release: release, Organisation: org}
		var err error
		if !d.byte('[') {
			return out, errPoints
		}
		if p.Indicator, err = d.str(); err != nil {
			return out, err
		}
		if !d.byte(',') {
			return out, errPoints
		}
		if p.Period, err = d.str(); err != nil {
			return out, err
		}
		if !d.byte(',') {
			return out, errPoints
		}
		if p.PeriodStart, err = d.str(); err != nil {
			return out, err
		}
		if p.Numerator, err = d.nextNum(); err != nil {
			return out, err
		}
		if p.Denominator, err = d.nextNum(); err != nil {
			return out, err
		}
		if p.Value, err = d.nextNum(); err != nil {
			return out, err
		}
		if p.Lower95, err = d.nextNum(); err != nil {
			return out, err
		}
		if p.Upper95, err = d.nextNum(); err != nil {
			return out, err
		}
		if !d.byte(']') {
			return out, errPoints
		}
		if indicator == "" || p.Indicator == indicator {
			out = append(out, p)
		}
		if d.byte(']') {
			return out, nil
		}
		if !d.byte(',') {
			return out, errPoints
		}
	}
}

type pointDecoder struct {
	b []byte
	i int
	// strings holds each text read once (indicators and periods repeat
	// from pack to pack); values is where numbers are put, a slab at a
	// time.
	strings map[string]string
	values  []float64
}

func (d *pointDecoder) peek() byte {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\n' || d.b[d.i] == '\t' || d.b[d.i] == '\r') {
		d.i++
	}
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *pointDecoder) byte(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// str reads a JSON string; one with escapes goes through encoding/json.
func (d *pointDecoder) str() (string, error) {
	if d.peek() != '"' {
		return "", errPoints
	}
	start, escaped := d.i, false
	for d.i++; d.i < len(d.b); d.i++ {
		switch d.b[d.i] {
		case '\\':
			escaped = true
			d.i++
		case '"':
			d.i++
			if !escaped {
				raw := d.b[start+1 : d.i-1]
				if s, ok := d.strings[string(raw)]; ok {
					return s, nil
				}
				s := string(raw)
				d.strings[s] = s
				return s, nil
			}
			var s string
			err := json.Unmarshal(d.b[start:d.i], &s)
			return s, err
		}
	}
	return "", errPoints
}

// nextNum reads a comma and a number.
func (d *pointDecoder) nextNum() (*float64, error) {
	if !d.byte(',') {
		return nil, errPoints
	}
	return d.num()
}

// num reads a JSON number, or null as nil.
func (d *pointDecoder) num() (*float64, error) {
	d.peek()
	start := d.i
	for d.i < len(d.b) && d.b[d.i] != ',' && d.b[d.i] != ']' && d.b[d.i] != ' ' {
		d.i++
	}
	tok := d.b[start:d.i]
	if string(tok) == "null" {
		return nil, nil
	}
	x, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", errPoints, tok)
	}
	if len(d.values) == cap(d.values) {
		d.values = make([]float64, 0, 512)
	}
	d.values = append(d.values, x)
	return &d.values[len(d.values)-1], nil
}
