package site

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Every page built around a table has CSV and JSON twins: the same request
// with ?format=csv or ?format=json gives the table's rows (all of them,
// not a page of them) instead of the page. A page type joins by
// implementing tabular; render then answers the twin, and the page's
// Twins method (shadowing layout's) makes the layout link to them. The
// lists with their own twin code (datasets, organisations, calendar) and
// pages with their own downloads (audits, changes, exports) predate this.

// twinTable is a page's table as rows of text.
type twinTable struct {
	Name   string // the file name, without .csv
	Header []string
	Rows   [][]string
}

type tabular interface {
	twin() twinTable
}

// Twins reports whether the page has CSV and JSON twins; tabular pages
// shadow it.
func (layout) Twins() bool { return false }

// TwinURL is the current address with the format parameter set.
func (l layout) TwinURL(format string) string {
	u, err := url.Parse(l.Here)
	if err != nil {
		return "?format=" + format
	}
	q := u.Query()
	q.Set("format", format)
	u.RawQuery = q.Encode()
	return u.String()
}

// renderTwin answers ?format for a tabular page; handled is false for the
// page itself.
func renderTwin(c *fiber.Ctx, data any) (handled bool, err error) {
	t, ok := data.(tabular)
	if !ok {
		return false, nil
	}
	format, err := twinFormat(c)
	if err != nil || format == "" {
		return err != nil, err
	}
	table := t.twin()
	return true, writeTwin(c, format, table.Name, table.Header, table.Rows)
}

func number(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func (comparePage) Twins() bool { return true }

func (p comparePage) twin() twinTable {
	t := twinTable{Name: "comparison", Header: []string{"indicator_id", "indicator"}}
	var codes []string
	for _, col := range p.Columns {
		codes = append(codes, col.Organisation.Code)
		for _, suffix := range []string{"value", "lower_95", "upper_95", "verdict", "verdict_words", "category", "period", "reason", "benchmark"} {
			t.Header = append(t.Header, col.Organisation.Code+"_"+suffix)
		}
	}
	t.Name = "comparison-" + strings.Join(codes, "-")
	for _, r := range p.Rows {
		row := []string{r.Definition.ID, r.Definition.Title}
		for _, o := range r.Cells {
			if o == nil {
				row = append(row, "", "", "", "", "", "", "", "no data", "")
				continue
			}
			row = append(row, number(o.Value), number(o.Lower95), number(o.Upper95), string(o.Comparison), o.Comparison.Words(), o.Category, o.Period, o.Reason, number(o.Benchmark))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func (transparencyPage) Twins() bool { return true }

func (p transparencyPage) twin() twinTable {
	t := twinTable{Name: "approvals", Header: []string{"dataset", "version", "release", "published", "approved_by", "seen_before_publication_by"}}
	for _, r := range p.Records {
		var approvals []string
		for _, a := range r.Approvals {
			approvals = append(approvals, fmt.Sprintf("%s (%s)", a.Name, a.At.UTC().Format("2006-01-02T15:04:05Z")))
		}
		t.Rows = append(t.Rows, []string{r.Release.Dataset.Slug, strconv.Itoa(r.Release.Version), r.Release.Title,
			r.Release.PublishedAt.UTC().Format("2006-01-02T15:04:05Z"), strings.Join(approvals, "; "), strconv.Itoa(len(r.AccessList))})
	}
	return t
}

func (organisationPage) Twins() bool { return true }

func (p organisationPage) twin() twinTable {
	t := twinTable{Name: "scorecard-" + p.Organisation.Code, Header: withColumn(observationColumns, 2, "indicator")}
	for _, l := range p.Scorecard.Lines {
		t.Rows = append(t.Rows, withColumn(observationCells(l.Definition, l.Latest), 2, l.Definition.Title))
	}
	return t
}

// withColumn returns cells with one more inserted at position at.
func withColumn(cells []string, at int, cell string) []string {
	out := make([]string, 0, len(cells)+1)
	return append(append(append(out, cells[:at]...), cell), cells[at:]...)
}

func versionText(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

func (datasetPage) Twins() bool { return true }

func (p datasetPage) twin() twinTable {
	t := twinTable{Name: p.Dataset.Slug + "-releases", Header: []string{"version", "title", "period", "period_start", "period_end", "state", "published", "corrects", "replaced_by"}}
	for _, r := range p.Releases {
		published := ""
		if !r.PublishedAt.IsZero() {
			published = r.PublishedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(r.Version), r.Title, r.PeriodLabel, r.PeriodStart.String(), r.PeriodEnd.String(),
			string(r.State), published, versionText(r.Corrects.Version), versionText(r.ReplacedBy.Version)})
	}
	return t
}

func (releasePage) Twins() bool { return true }

func (p releasePage) twin() twinTable {
	t := twinTable{Name: fmt.Sprintf("%s-v%d-files", p.Dataset.Slug, p.Release.Version), Header: []string{"file", "url", "media_type", "encoding", "bytes", "rows", "sha256"}}
	for _, f := range p.Files {
		t.Rows = append(t.Rows, []string{f.Name, f.URL, f.MediaType, f.Encoding, strconv.FormatInt(f.Bytes, 10), strconv.FormatInt(f.Rows, 10), f.SHA256})
	}
	return t
}

func (indicatorListPage) Twins() bool { return true }

func (p indicatorListPage) twin() twinTable {
	t := twinTable{Name: "indicators", Header: []string{"id", "title", "description", "unit", "polarity", "method"}}
	for _, d := range p.Definitions {
		t.Rows = append(t.Rows, []string{d.ID, d.Title, d.Description, string(d.Unit), string(d.Polarity), string(d.Method)})
	}
	return t
}

func (indicatorPage) Twins() bool { return true }

func (p indicatorPage) twin() twinTable {
	t := twinTable{Name: p.Definition.ID + "-" + strings.ReplaceAll(strings.ToLower(p.Period), " ", "-"),
		Header: withColumn(observationColumns, 1, "organisation")}
	for _, rows := range [][]indicatorRow{p.Rows, p.NotShown} {
		for _, r := range rows {
			t.Rows = append(t.Rows, withColumn(observationCells(p.Definition, r.Observation), 1, r.Organisation.Name))
		}
	}
	return t
}

func (auditListPage) Twins() bool { return true }

func (p auditListPage) twin() twinTable {
	t := twinTable{Name: "clinical-audits", Header: []string{"id", "name", "clinical_area", "audit_body", "periods", "synthetic"}}
	for _, a := range p.Audits {
		t.Rows = append(t.Rows, []string{a.Definition.ID, a.Definition.Name, a.Definition.ClinicalArea, a.Definition.AuditBody,
			strings.Join(a.Periods, "; "), strconv.FormatBool(a.Definition.Synthetic)})
	}
	return t
}

func (auditPage) Twins() bool { return true }

// The twin is every unit of the selection, whichever page is shown.
func (p auditPage) twin() twinTable { return p.table }

func (unitPage) Twins() bool { return true }

func (p unitPage) twin() twinTable { return p.table }
