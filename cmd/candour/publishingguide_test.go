package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/disclosure"
)

// The guide for publishers (content/pages/publishing.md, served at
// /pages/publishing) and the templates it links (site/static/templates/,
// served at /static/templates/NAME) must stay true: every template goes
// through the checks a submission goes through, every example the guide
// tags parses with the parser Candour uses for it, and the guide names
// every property Candour reads.
const (
	guideFile    = "../../content/pages/publishing.md"
	templatesDir = "../../site/static/templates"
	schemaSource = "../../datasets/schema.go"
)

// templateFiles are the downloads the guide links.
var templateFiles = []string{"submission.json", "practice-counts.schema.json", "practice-counts.csv", "indicators.json", "audit.json"}

func TestPublishingGuide(t *testing.T) {
	guide, err := os.ReadFile(guideFile)
	if err != nil {
		t.Fatal(err)
	}
	examples, err := guideExamples(string(guide))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("templates", func(t *testing.T) {
		fsys := os.DirFS(templatesDir)
		sub, err := publisher.ReadSubmission(fsys, "submission.json")
		if err != nil {
			t.Fatalf("submission.json: %v", err)
		}
		if len(sub.Files) != 1 || len(sub.Indicators) != 1 || sub.Audit != nil {
			t.Fatalf("submission.json names %d files, %d indicators and audit %v; want 1, 1 and none", len(sub.Files), len(sub.Indicators), sub.Audit != nil)
		}
		checkSubmission(t, "submission.json", sub)

		raw := readTemplate(t, "practice-counts.schema.json")
		schema, err := datasets.ParseSchema(raw)
		if err != nil {
			t.Fatalf("practice-counts.schema.json: %v", err)
		}
		if d := schema.Disclosure; d == nil || d.Rule != datasets.DisclosureNHSDigital {
			t.Errorf("practice-counts.schema.json: candour:disclosure is %+v, want the nhs-digital rule", d)
		}
		var counts, totals int
		for _, f := range schema.Fields {
			if f.CountOfIndividuals {
				counts++
			}
			if len(f.TotalValues) > 0 {
				totals++
			}
		}
		if counts == 0 || totals == 0 {
			t.Errorf("practice-counts.schema.json: %d counts of individuals and %d fields marking total rows; want at least one of each", counts, totals)
		}
		res := datasets.Resource{Name: "practice-counts", Path: "practice-counts.csv", Dialect: datasets.DefaultDialect(), Schema: schema}
		if _, err := datasets.Validate(bytes.NewReader(readTemplate(t, "practice-counts.csv")), "practice-counts.csv", res, 0); err != nil {
			t.Errorf("practice-counts.csv: %v", err)
		}
		_, rows := readRows(t, "practice-counts.csv", res, readTemplate(t, "practice-counts.csv"))
		checkTotalRows(t, "practice-counts.csv", schema, rows)

		if defs, err := indicators.ParseDefinitions(readTemplate(t, "indicators.json")); err != nil || len(defs) != 1 {
			t.Errorf("indicators.json: %d definitions, %v; want one", len(defs), err)
		}
		if _, err := audit.ParseDefinition(readTemplate(t, "audit.json")); err != nil {
			t.Errorf("audit.json: %v", err)
		}
	})

	t.Run("examples", func(t *testing.T) {
		seen := map[string]int{}
		for _, ex := range examples {
			seen[ex.kind]++
			if err := checkExample(t, ex); err != nil {
				t.Errorf("publishing.md line %d: the %s example does not parse: %v", ex.line, ex.kind, err)
			}
		}
		for _, kind := range exampleKinds {
			if seen[kind] == 0 {
				t.Errorf("publishing.md has no example tagged <!-- example: %s -->", kind)
			}
		}
	})

	t.Run("every candour property", func(t *testing.T) {
		src, err := os.ReadFile(schemaSource)
		if err != nil {
			t.Fatal(err)
		}
		var props []string
		for _, m := range regexp.MustCompile(`json:"(candour:[A-Za-z]+)`).FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(props, m[1]) {
				props = append(props, m[1])
			}
		}
		if len(props) < 15 {
			t.Fatalf("found only %d candour: properties in %s: %v", len(props), schemaSource, props)
		}
		var checked strings.Builder
		for _, ex := range examples {
			checked.WriteString(ex.text)
		}
		for _, p := range props {
			if !strings.Contains(string(guide), "`"+p+"`") {
				t.Errorf("the guide does not name %s (as `%s`)", p, p)
			}
			if !strings.Contains(checked.String(), `"`+p+`"`) {
				t.Errorf("no checked example of the guide uses %s", p)
			}
		}
	})

	t.Run("every other property", func(t *testing.T) {
		var names []string
		for _, v := range []any{
			publisher.DatasetSpec{}, publisher.PublisherSpec{}, publisher.ReleaseSpec{}, publisher.RevisionSpec{}, catalogue.Quality{},
			datasets.DisclosureRule{}, datasets.DominanceRule{}, datasets.OrganisationRef{}, datasets.ParentRef{}, datasets.PublishedSource{},
			indicators.Definition{}, indicators.Benchmark{}, indicators.Verdict{}, indicators.Breakdown{},
			audit.Definition{}, audit.Measure{}, audit.OverdispersionSpec{},
		} {
			names = append(names, jsonNames(reflect.TypeOf(v))...)
		}
		// Read by hand rather than through struct tags: the descriptor's
		// own properties (publisher.ReadSubmission), a resource's and its
		// dialect's (datasets/dialect.go), a schema's and a field's
		// (datasets/schema.go).
		names = append(names, "dataset", "release", "resources", "indicators", "audit",
			"name", "path", "title", "description", "format", "mediatype", "encoding", "dialect", "schema",
			"delimiter", "header", "quoteChar", "skipInitialSpace",
			"fields", "primaryKey", "missingValues", "type", "constraints", "trueValues", "falseValues",
			"required", "unique", "pattern", "enum", "minLength", "maxLength", "minimum", "maximum")
		for _, n := range names {
			if !strings.Contains(string(guide), "`"+n+"`") {
				t.Errorf("the guide does not name the property %s (as `%s`)", n, n)
			}
		}
	})

	t.Run("served", func(t *testing.T) {
		links := map[string]bool{}
		for _, m := range regexp.MustCompile(`\(/static/templates/([^)]+)\)`).FindAllStringSubmatch(string(guide), -1) {
			links[m[1]] = true
		}
		entries, err := os.ReadDir(templatesDir)
		if err != nil {
			t.Fatal(err)
		}
		var onDisk []string
		for _, e := range entries {
			onDisk = append(onDisk, e.Name())
			if !links[e.Name()] {
				t.Errorf("the guide does not link the template %s", e.Name())
			}
		}
		for name := range links {
			if !slices.Contains(onDisk, name) {
				t.Errorf("the guide links /static/templates/%s, which is not in %s", name, templatesDir)
			}
		}
		if !slices.Equal(onDisk, slices.Sorted(slices.Values(templateFiles))) {
			t.Errorf("%s holds %v, want %v", templatesDir, onDisk, templateFiles)
		}

		dataDir := filepath.Join(t.TempDir(), "candour-data")
		addAccounts(t, dataDir, []account{{"pat", "publisher", "example-organisation"}})
		out, err := runCandour("user", "token", "pat", "--label", "guide", "--data-dir", dataDir)
		m := regexp.MustCompile(`(?m)^(cnd_\S+)$`).FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("user token: %v\n%s", err, out)
		}
		s := startCandour(t, "serve", dataDir, "--page-cache=false")
		page := s.mustGet(t, "/pages/publishing")
		if !strings.Contains(page, "<h1>Publishing with Candour</h1>") || !strings.Contains(page, `href="/static/templates/submission.json"`) {
			t.Errorf("/pages/publishing does not show the guide with its templates")
		}
		files := map[string]string{}
		for _, name := range templateFiles {
			status, body, _ := s.get(t, "/static/templates/"+name)
			if want := string(readTemplate(t, name)); status != http.StatusOK || body != want {
				t.Errorf("/static/templates/%s: %d, %d bytes; want 200 and the file's %d bytes", name, status, len(body), len(want))
			}
			if name != "submission.json" && name != "audit.json" {
				files[name] = body
			}
		}
		// The templates submit as the guide says: the descriptor, and one
		// part per file named by its path.
		status, body := postSubmission(t, s, m[1], string(readTemplate(t, "submission.json")), files)
		if status != http.StatusCreated {
			t.Errorf("submitting the templates: %d %s", status, body)
		}
	})
}

// exampleKinds are the kinds of example the guide may tag, with
// <!-- example: KIND --> on the line before a ```json block.
var exampleKinds = []string{"descriptor", "resource", "schema", "field", "indicators", "audit"}

// example is one tagged JSON block of the guide.
type example struct {
	kind string
	line int // of the opening fence
	text string
}

var exampleTag = regexp.MustCompile(`^<!--\s*example:\s*(\S+)\s*-->$`)

// guideExamples returns the guide's tagged JSON blocks. A tag that is not
// followed by a JSON block, or names no known kind, is an error: a check
// must never be skipped by a slip.
func guideExamples(guide string) ([]example, error) {
	var out []example
	var tag string
	tagLine := 0
	var block *example
	var body strings.Builder
	sc := bufio.NewScanner(strings.NewReader(guide))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if block != nil {
			if trimmed == "```" {
				block.text = body.String()
				out = append(out, *block)
				block = nil
				body.Reset()
				continue
			}
			body.WriteString(line + "\n")
			continue
		}
		if m := exampleTag.FindStringSubmatch(trimmed); m != nil {
			if !slices.Contains(exampleKinds, m[1]) {
				return nil, fmt.Errorf("publishing.md line %d: unknown example kind %q (kinds: %s)", n, m[1], strings.Join(exampleKinds, ", "))
			}
			if tag != "" {
				return nil, fmt.Errorf("publishing.md line %d: the example tag is not followed by a ```json block", tagLine)
			}
			tag, tagLine = m[1], n
			continue
		}
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "```") && tag != "" {
			if trimmed != "```json" {
				return nil, fmt.Errorf("publishing.md line %d: the example tagged on line %d is not a ```json block", n, tagLine)
			}
			block = &example{kind: tag, line: n}
			tag = ""
			continue
		}
		if tag != "" {
			return nil, fmt.Errorf("publishing.md line %d: the example tag is not followed by a ```json block", tagLine)
		}
	}
	if block != nil {
		return nil, fmt.Errorf("publishing.md line %d: the block never ends", block.line)
	}
	if tag != "" {
		return nil, fmt.Errorf("publishing.md line %d: the example tag is not followed by a ```json block", tagLine)
	}
	return out, sc.Err()
}

// checkExample parses one example with the parser Candour uses for its
// kind.
func checkExample(t *testing.T, ex example) error {
	t.Helper()
	raw := []byte(ex.text)
	switch ex.kind {
	case "schema":
		_, err := datasets.ParseSchema(raw)
		return err
	case "field":
		_, err := datasets.ParseSchema([]byte(`{"fields": [` + ex.text + `]}`))
		return err
	case "resource":
		var res datasets.Resource
		return json.Unmarshal(raw, &res)
	case "indicators":
		_, err := indicators.ParseDefinitions(raw)
		return err
	case "audit":
		_, err := audit.ParseDefinition(raw)
		return err
	case "descriptor":
		fsys, err := descriptorFS(raw)
		if err != nil {
			return err
		}
		sub, err := publisher.ReadSubmission(fsys, "submission.json")
		if err != nil {
			return err
		}
		t.Run(fmt.Sprintf("descriptor on line %d", ex.line), func(t *testing.T) {
			checkSubmission(t, fmt.Sprintf("the descriptor on line %d", ex.line), sub)
		})
		return nil
	}
	return fmt.Errorf("unknown kind %q", ex.kind)
}

// descriptorFS is a folder holding a descriptor from the guide and every
// file it names by path, each the template of the same name
// (data/practice-counts.csv is practice-counts.csv).
func descriptorFS(raw []byte) (fs.FS, error) {
	var d struct {
		Resources []struct {
			Path   string          `json:"path"`
			Schema json.RawMessage `json:"schema"`
		} `json:"resources"`
		Indicators json.RawMessage `json:"indicators"`
		Audit      json.RawMessage `json:"audit"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	var named []string
	pathIn := func(v json.RawMessage) {
		var p string
		if json.Unmarshal(v, &p) == nil {
			named = append(named, p)
		}
	}
	for _, r := range d.Resources {
		named = append(named, r.Path)
		pathIn(r.Schema)
	}
	pathIn(d.Indicators)
	pathIn(d.Audit)
	fsys := fstest.MapFS{"submission.json": {Data: raw}}
	for _, p := range named {
		b, err := os.ReadFile(filepath.Join(templatesDir, path.Base(p)))
		if err != nil {
			return nil, fmt.Errorf("it names %s, and the test supplies only templates (%s): %w", p, strings.Join(templateFiles, ", "), err)
		}
		fsys[p] = &fstest.MapFile{Data: b}
	}
	return fsys, nil
}

// checkSubmission runs what publisher.Service.Check does short of the
// catalogue: the metadata checks, every cell against its schema,
// disclosure control (nothing may block), and the indicators and audit
// definitions against the files (the indicators computed from the public
// files).
func checkSubmission(t *testing.T, what string, sub publisher.Submission) {
	t.Helper()
	d, r := sub.Dataset, sub.Release
	if !catalogue.ValidSlug(d.Slug) || strings.TrimSpace(d.Title) == "" || !catalogue.ValidSlug(d.Publisher.Slug) {
		t.Errorf("%s: dataset slug %q, title %q or publisher slug %q is not valid", what, d.Slug, d.Title, d.Publisher.Slug)
	}
	if d.Licence != "" {
		if _, ok := catalogue.LookupLicence(d.Licence); !ok {
			t.Errorf("%s: unknown licence %q", what, d.Licence)
		}
	}
	start, err1 := catalogue.ParseDate(r.PeriodStart)
	end, err2 := catalogue.ParseDate(r.PeriodEnd)
	if strings.TrimSpace(r.Title) == "" || err1 != nil || err2 != nil || !start.IsZero() && !end.IsZero() && start.After(end) {
		t.Errorf("%s: release title %q, period %q to %q: %v %v", what, r.Title, r.PeriodStart, r.PeriodEnd, err1, err2)
	}
	if r.Corrects != 0 && strings.TrimSpace(r.CorrectionNotice) == "" {
		t.Errorf("%s: a correction without a correction notice", what)
	}
	if len(sub.Files) == 0 {
		t.Fatalf("%s: no files", what)
	}
	var files []disclosure.File
	for _, f := range sub.Files {
		if !catalogue.ValidFileName(f.Name()) {
			t.Errorf("%s: %q is not a safe file name", what, f.Name())
		}
		if err := f.Resource.Validate(); err != nil {
			t.Errorf("%s: resource %s: %v", what, f.Resource.Name, err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datasets.Validate(bytes.NewReader(b), f.Name(), f.Resource, 0); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		header, rows := readRows(t, f.Name(), f.Resource, b)
		files = append(files, disclosure.File{Name: f.Name(), Resource: f.Resource, Header: header, Rows: rows})
	}
	result, err := disclosure.Check(disclosure.Input{Files: files})
	if err != nil {
		t.Fatalf("%s: disclosure control: %v", what, err)
	}
	if result.Blocked {
		for _, f := range result.Report.Findings {
			if f.Blocking {
				t.Errorf("%s: disclosure control blocks it: %s", what, f.Message)
			}
		}
	}
	var tables []indicators.Table
	for _, p := range result.Public {
		tables = append(tables, indicators.Table{Name: p.Name, Schema: p.Resource.Schema, Header: p.Header, Rows: p.Rows})
	}
	for _, def := range sub.Indicators {
		i := slices.IndexFunc(sub.Files, func(f publisher.SubmittedFile) bool { return f.Name() == def.File })
		if i < 0 {
			t.Errorf("%s: indicator %s: the release has no file %q", what, def.ID, def.File)
			continue
		}
		if err := def.Validate(sub.Files[i].Resource.Schema.FieldNames()); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if len(sub.Indicators) > 0 {
		if _, _, err := indicators.Compute(sub.Indicators, tables, indicators.Period{Label: r.PeriodLabel, Start: r.PeriodStart}); err != nil {
			t.Errorf("%s: computing the indicators: %v", what, err)
		}
	}
	if a := sub.Audit; a != nil && !slices.ContainsFunc(sub.Files, func(f publisher.SubmittedFile) bool { return f.Name() == a.File }) {
		t.Errorf("%s: the audit's file %q is not in the release", what, a.File)
	}
}

// readRows reads a file's header and every row, failing at the first
// problem.
func readRows(t *testing.T, name string, res datasets.Resource, b []byte) ([]string, []datasets.Row) {
	t.Helper()
	rd, err := datasets.NewReader(bytes.NewReader(b), name, res)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var rows []datasets.Row
	for {
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return rd.Header(), rows
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows = append(rows, row)
	}
}

// checkTotalRows checks that each total row (a value of a field's
// candour:totalValues) holds, in every count of individuals, the sum of
// the rows that differ from it only in that field.
func checkTotalRows(t *testing.T, name string, s datasets.Schema, rows []datasets.Row) {
	t.Helper()
	var identity []int
	for i, f := range s.Fields {
		if f.Role == datasets.RoleKey || f.Role == datasets.RoleDimension {
			identity = append(identity, i)
		}
	}
	totals := 0
	for i, f := range s.Fields {
		if len(f.TotalValues) == 0 {
			continue
		}
		rest := func(r datasets.Row) string {
			var parts []string
			for _, c := range identity {
				if c != i {
					parts = append(parts, r.Cells[c])
				}
			}
			return strings.Join(parts, "\x1f")
		}
		for _, total := range rows {
			if !slices.Contains(f.TotalValues, total.Cells[i]) {
				continue
			}
			totals++
			for c, g := range s.Fields {
				if !g.CountOfIndividuals {
					continue
				}
				var sum int64
				for _, part := range rows {
					if !slices.Contains(f.TotalValues, part.Cells[i]) && rest(part) == rest(total) {
						sum += part.Values[c].Int
					}
				}
				if sum != total.Values[c].Int {
					t.Errorf("%s: row %d (%s): %s is %d, but its rows add up to %d", name, total.Record, total.Cells[i], g.Name, total.Values[c].Int, sum)
				}
			}
		}
	}
	if totals == 0 {
		t.Errorf("%s: no total row", name)
	}
}

// jsonNames returns the JSON property names of a struct type's fields.
func jsonNames(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func readTemplate(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(templatesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
