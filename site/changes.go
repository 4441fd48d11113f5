package site

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// What changed between two published releases of a dataset: rows matched
// on their key fields, cell by cell, in the public versions only (a
// suppressed cell is its marker, never its original value), as a page and
// as CSV or JSON (/datasets/shmi/changes?from=9&to=10&format=csv).

// rowChange is one row's difference.
type rowChange struct {
	Change string            `json:"change"` // added, removed, changed
	Key    map[string]string `json:"key"`
	Cells  []cellChange      `json:"cells,omitempty"`
	// Values are an added or removed row's cells, by field.
	Values map[string]string `json:"values,omitempty"`
}

type cellChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// releaseDiff is the difference of one file between two releases.
type releaseDiff struct {
	File      string
	KeyFields []string
	// Throughout are key fields with one value in each whole file (a
	// publication date): not used to match rows, reported once.
	Throughout              []cellChange
	Added, Removed, Changed int
	Changes                 []rowChange
}

// keyFields are the fields that identify a row: the schema's primary key,
// or else its key-role fields.
func keyFields(s datasets.Schema) []string {
	if len(s.PrimaryKey) > 0 {
		return s.PrimaryKey
	}
	var out []string
	for _, f := range s.Fields {
		if f.Role == datasets.RoleKey {
			out = append(out, f.Name)
		}
	}
	return out
}

func publicFile(r catalogue.Release, name string) (catalogue.File, datasets.Schema, bool) {
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic && (name == "" || f.Name == name) {
			var res datasets.Resource
			if err := json.Unmarshal(f.Resource, &res); err != nil {
				return f, datasets.Schema{}, false
			}
			return f, res.Schema, true
		}
	}
	return catalogue.File{}, datasets.Schema{}, false
}

// comparable reports whether two releases can be compared without naming
// a file: one public file each, with the same, non-empty key fields.
func comparable(a, b catalogue.Release) bool {
	count := func(r catalogue.Release) int {
		n := 0
		for _, f := range r.Files {
			if f.Role == catalogue.RolePublic {
				n++
			}
		}
		return n
	}
	if count(a) != 1 || count(b) != 1 {
		return false
	}
	_, sa, ok1 := publicFile(a, "")
	_, sb, ok2 := publicFile(b, "")
	return ok1 && ok2 && len(keyFields(sa)) > 0 && slices.Equal(keyFields(sa), keyFields(sb))
}

// rowReader reads a file's rows of a release.
type rowReader func(ctx context.Context, release int64, file string) iter.Seq2[datasets.StoredRow, error]

// publishedRows reads the rows of published releases from and to.
func (s *Site) publishedRows(from, to catalogue.Release) rowReader {
	visible := datasets.NewVisible(from.ID, to.ID)
	return func(ctx context.Context, release int64, file string) iter.Seq2[datasets.StoredRow, error] {
		return s.deps.Rows.Rows(ctx, visible, datasets.RowQuery{File: datasets.FileRef{Release: release, File: file}})
	}
}

// diffReleases compares a file of two releases, reading their rows with
// rows: the published view's for the public page, the workspace's (for a
// release under review and the one it replaces) for the panel.
func diffReleases(ctx context.Context, rowsOf rowReader, from, to catalogue.Release, file string) (releaseDiff, error) {
	if file == "" {
		var fromNames []string
		for _, f := range from.Files {
			if f.Role == catalogue.RolePublic {
				fromNames = append(fromNames, f.Name)
			}
		}
		var toNames []string
		for _, f := range to.Files {
			if f.Role == catalogue.RolePublic {
				toNames = append(toNames, f.Name)
			}
		}
		if len(fromNames) != 1 || len(toNames) != 1 {
			return releaseDiff{}, badParam("file", "", "these releases have several files; name the one to compare")
		}
	}
	ff, fromSchema, ok1 := publicFile(from, file)
	tf, toSchema, ok2 := publicFile(to, file)
	if !ok1 || !ok2 {
		return releaseDiff{}, badParam("file", file, "both releases must have a public file of that name")
	}
	keys := keyFields(toSchema)
	if len(keys) == 0 {
		return releaseDiff{}, &userError{status: http.StatusBadRequest, message: "This dataset's files declare no key fields, so rows cannot be matched between releases."}
	}
	if !slices.Equal(keys, keyFields(fromSchema)) {
		return releaseDiff{}, &userError{status: http.StatusBadRequest, message: fmt.Sprintf(
			"The two releases identify rows differently (%s against %s), so they cannot be compared cell by cell.",
			strings.Join(keyFields(fromSchema), ", "), strings.Join(keys, ", "))}
	}
	fromNames, toNames := fromSchema.FieldNames(), toSchema.FieldNames()
	read := func(r catalogue.Release, file string) ([][]string, error) {
		var rows [][]string
		for row, err := range rowsOf(ctx, r.ID, file) {
			if err != nil {
				return nil, err
			}
			rows = append(rows, row.Cells)
		}
		return rows, nil
	}
	fromRows, err := read(from, ff.Name)
	if err != nil {
		return releaseDiff{}, err
	}
	toRows, err := read(to, tf.Name)
	if err != nil {
		return releaseDiff{}, err
	}
	// A key field with one value throughout each file (a publication date,
	// a period) says which release a row is in, not which row it is: it is
	// left out of matching and reported once.
	constant := func(rows [][]string, i int) (string, bool) {
		if len(rows) == 0 || i < 0 {
			return "", false
		}
		for _, r := range rows[1:] {
			if i >= len(r) || r[i] != rows[0][i] {
				return "", false
			}
		}
		return rows[0][i], true
	}
	var matchKeys []string
	var whole []cellChange
	for _, k := range keys {
		ov, ok1 := constant(fromRows, slices.Index(fromNames, k))
		nv, ok2 := constant(toRows, slices.Index(toNames, k))
		if ok1 && ok2 {
			if ov != nv {
				whole = append(whole, cellChange{Field: k, Old: ov, New: nv})
			}
			continue
		}
		matchKeys = append(matchKeys, k)
	}
	if len(matchKeys) == 0 {
		matchKeys, whole = keys, nil
	}
	keys = matchKeys
	skip := map[string]bool{}
	for _, w := range whole {
		skip[w.Field] = true
	}
	index := func(names []string) ([]int, error) {
		var idx []int
		for _, k := range keys {
			i := slices.Index(names, k)
			if i < 0 {
				return nil, fmt.Errorf("key field %s is not in the file", k)
			}
			idx = append(idx, i)
		}
		return idx, nil
	}
	fromIdx, err := index(fromNames)
	if err != nil {
		return releaseDiff{}, err
	}
	toIdx, err := index(toNames)
	if err != nil {
		return releaseDiff{}, err
	}
	keyOf := func(cells []string, idx []int) string {
		parts := make([]string, len(idx))
		for i, j := range idx {
			if j < len(cells) {
				parts[i] = cells[j]
			}
		}
		return strings.Join(parts, "\x00")
	}
	old := map[string][]string{}
	var oldOrder []string
	for _, cells := range fromRows {
		k := keyOf(cells, fromIdx)
		if _, dup := old[k]; !dup {
			oldOrder = append(oldOrder, k)
		}
		old[k] = cells
	}
	d := releaseDiff{File: tf.Name, KeyFields: keys, Throughout: whole}
	keyMap := func(cells []string, idx []int) map[string]string {
		m := map[string]string{}
		for i, j := range idx {
			if j < len(cells) {
				m[keys[i]] = cells[j]
			}
		}
		return m
	}
	values := func(cells []string, names []string) map[string]string {
		m := map[string]string{}
		for i, n := range names {
			if i < len(cells) {
				m[n] = cells[i]
			}
		}
		return m
	}
	seen := map[string]bool{}
	for _, cells := range toRows {
		k := keyOf(cells, toIdx)
		seen[k] = true
		prev, ok := old[k]
		if !ok {
			d.Added++
			d.Changes = append(d.Changes, rowChange{Change: "added", Key: keyMap(cells, toIdx), Values: values(cells, toNames)})
			continue
		}
		ch := rowChange{Change: "changed", Key: keyMap(cells, toIdx)}
		for i, name := range toNames {
			if skip[name] {
				continue
			}
			j := slices.Index(fromNames, name)
			oldCell, newCell := "", ""
			if j >= 0 && j < len(prev) {
				oldCell = prev[j]
			}
			if i < len(cells) {
				newCell = cells[i]
			}
			if oldCell != newCell {
				ch.Cells = append(ch.Cells, cellChange{Field: name, Old: oldCell, New: newCell})
			}
		}
		if len(ch.Cells) > 0 {
			d.Changed++
			d.Changes = append(d.Changes, ch)
		}
	}
	for _, k := range oldOrder {
		if !seen[k] {
			d.Removed++
			d.Changes = append(d.Changes, rowChange{Change: "removed", Key: keyMap(old[k], fromIdx), Values: values(old[k], fromNames)})
		}
	}
	return d, nil
}

type changesPage struct {
	layout
	Dataset  catalogue.Dataset
	From, To catalogue.Release
	DiffView
	CSV, JSON string
}

// DiffView is a difference as pages show it (the "difftable" partial):
// the first changesShown changes.
type DiffView struct {
	ID        string // the table's HTML id
	Diff      releaseDiff
	Shown     []rowChange
	Truncated bool
}

func newDiffView(d releaseDiff) DiffView {
	v := DiffView{ID: "changes", Diff: d, Shown: d.Changes}
	if len(v.Shown) > changesShown {
		v.Shown, v.Truncated = v.Shown[:changesShown], true
	}
	return v
}

const changesShown = 500

func (s *Site) changes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	version := func(param string) (catalogue.Release, error) {
		raw := c.Query(param)
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return catalogue.Release{}, badParam(param, raw, "it must be the number of a published release of this dataset")
		}
		r, err := v.Release(ctx, d.Slug, n)
		if err != nil || !r.ContentVisible {
			return catalogue.Release{}, badParam(param, raw, "it must be the number of a published release of this dataset")
		}
		return r, nil
	}
	from, err := version("from")
	if err != nil {
		return err
	}
	to, err := version("to")
	if err != nil {
		return err
	}
	diff, err := diffReleases(ctx, s.publishedRows(from, to), from, to, c.Query("file"))
	if err != nil {
		return err
	}
	switch format := c.Query("format"); format {
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-v%d-to-v%d-changes.csv"`, d.Slug, from.Version, to.Version))
		w, err := datasets.NewWriter(c.Response().BodyWriter(), append(append([]string{"change"}, diff.KeyFields...), "field", "old", "new"))
		if err != nil {
			return err
		}
		w.SpreadsheetSafe(nil)
		for _, ch := range diff.Changes {
			key := make([]string, len(diff.KeyFields))
			for i, k := range diff.KeyFields {
				key[i] = ch.Key[k]
			}
			if ch.Change != "changed" {
				if err := w.Write(append(append([]string{ch.Change}, key...), "", "", "")); err != nil {
					return err
				}
				continue
			}
			for _, cell := range ch.Cells {
				if err := w.Write(append(append([]string{ch.Change}, key...), cell.Field, cell.Old, cell.New)); err != nil {
					return err
				}
			}
		}
		return w.Close()
	case "json":
		return c.JSON(fiber.Map{"dataset": d.Slug, "from": from.Version, "to": to.Version, "file": diff.File, "keyFields": diff.KeyFields,
			"throughout": diff.Throughout,
			"added":      diff.Added, "removed": diff.Removed, "changed": diff.Changed, "changes": diff.Changes})
	case "", "html":
	default:
		return badParam("format", format, "it must be html, csv or json")
	}
	q := fmt.Sprintf("/datasets/%s/changes?from=%d&to=%d", d.Slug, from.Version, to.Version)
	if f := c.Query("file"); f != "" {
		q += "&file=" + f
	}
	page := changesPage{layout: s.layout(c, fmt.Sprintf("What changed in %s from version %d to %d", d.Title, from.Version, to.Version),
		crumb{"/", "Home"}, crumb{"/datasets", "Datasets"}, crumb{"/datasets/" + d.Slug, d.Title}),
		Dataset: d, From: from, To: to, DiffView: newDiffView(diff), CSV: q + "&format=csv", JSON: q + "&format=json"}
	return s.render(c, "changes", page)
}
