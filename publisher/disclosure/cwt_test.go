package disclosure

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/datasets"
)

// The real Cancer Waiting Times file (January 2026, 17,361 rows,
// half-patients) under nhs-digital, with the England "Total" rows declared
// national margins of the provider rows. It takes seconds, so -short skips
// it. It shows the audit finding cells
// that an unrounded national margin gives away: in row 8977 one provider's
// `*` is the only non-zero part of a national 1.
func TestRealCancerWaitingTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole cancer waiting times file (about 6 s); skipped with -short")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "cmd", "candour", "demodata", "cancer-waiting-times-2026-01-provider.csv"))
	if err != nil {
		t.Skipf("demo data not available: %v", err)
	}
	cnt := func(n string) string {
		return `{"name": "` + n + `", "type": "number", "candour:countOfIndividuals": true, "candour:suppressed": ["*"]}`
	}
	schema := `{"fields": [
		{"name": "Org Code", "candour:role": "key", "candour:totalValues": ["Total"], "candour:nationalValues": ["Total"]},
		{"name": "Region"}, {"name": "Org Name"},
		{"name": "Standard", "candour:role": "dimension"}, {"name": "Cancer Type", "candour:role": "dimension"},
		{"name": "Referral Route/Stage", "candour:role": "dimension"}, {"name": "Treatment Modality", "candour:role": "dimension"},
		{"name": "Total", "type": "number", "candour:countOfIndividuals": true, "candour:total": true, "candour:totalOf": ["Within", "After"], "candour:suppressed": ["*"]},
		` + cnt("Within") + `,` + cnt("After") + `,
		{"name": "Performance", "type": "number"},
		` + cnt("Within 14 days") + `,` + cnt("In 15 to 28 days") + `,` + cnt("In 29 to 42 days") + `,` + cnt("In 43 to 62 days") + `,` + cnt("After 62 days") + `,
		` + cnt("Within 31 days") + `,` + cnt("In 32 to 38 days") + `,` + cnt("In 39 to 48 days") + `,` + cnt("In 49 to 62 days") + `,
		` + cnt("In 63 to 76 days") + `,` + cnt("In 77 to 90 days") + `,` + cnt("In 91 to 104 days") + `,` + cnt("After 104 days") + `],
		"candour:disclosure": {"rule": "nhs-digital"}}`
	s, err := datasets.ParseSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	f := readFile(t, "cancer-waiting-times.csv", datasets.Resource{Name: "c", Dialect: datasets.DefaultDialect(), Schema: s}, bytes.NewReader(data))
	start := time.Now()
	out := mustCheck(t, Input{Files: []File{f}})
	a := out.Report.Audit
	t.Logf("%v: %+v blocked %v methods %v relations %d", time.Since(start), out.Report.Files[0].Cells, out.Blocked, a.CellsByMethod, a.Relations)
	if a.LeftOut != 0 || a.CellsByMethod[MethodLP] == 0 || a.CellsByMethod[MethodNone] != 0 {
		t.Errorf("audit: %+v", a.CellsByMethod)
	}
	found := false
	for _, fd := range findings(out, KindRecoverable) {
		if fd.Row == 8977 && fd.Field == "In 39 to 48 days" && strings.Contains(fd.Message, "between 1 and 1") {
			found = true
		}
	}
	if !out.Blocked || !found {
		t.Errorf("blocked %v, row 8977 found %v", out.Blocked, found)
	}
}
