package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// instantPattern matches the timestamps a freshly loaded demo stamps with
// the time of loading (RFC 3339, and CKAN's zone-less microseconds).
var instantPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`)

// chainHeadPattern matches the audit chain head a manifest carries: its
// hash covers the instants of loading, so it differs between runs.
var chainHeadPattern = regexp.MustCompile(`("auditChainHead":\{"sequence":\d+,"hash":")[0-9a-f]{64}"`)

// normalise makes a response from the demo comparable between runs: the
// server's address, the instants of loading (and the audit chain hashes
// that cover them) and today's date become fixed text. Everything else
// (the real data, structure, order) is compared as it is.
func normalise(body, base string) []byte {
	body = strings.ReplaceAll(body, base, "http://candour.test")
	body = chainHeadPattern.ReplaceAllString(body, `${1}`+strings.Repeat("0", 64)+`"`)
	body = instantPattern.ReplaceAllString(body, "2000-01-01T00:00:00Z")
	for _, d := range []time.Time{time.Now().UTC(), time.Now().UTC().Add(-24 * time.Hour)} {
		body = strings.ReplaceAll(body, d.Format("2006-01-02"), "2000-01-01")
	}
	return []byte(body)
}

// checkGolden compares a machine-readable response of the demo with its
// golden file (go test ./cmd/candour -run TestDemoEndToEnd/golden -update
// rewrites them).
func checkGolden(t *testing.T, s *server, name, path string) {
	t.Helper()
	status, body, _ := s.get(t, path)
	if status != 200 {
		t.Errorf("%s: %d", path, status)
		return
	}
	got := normalise(body, s.base)
	file := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (rewrite the golden files with -update)", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		from := max(0, i-120)
		t.Errorf("%s differs from %s at byte %d:\n got …%s…\nwant …%s…", path, file, i,
			got[from:min(len(got), i+120)], want[from:min(len(want), i+120)])
	}
}

// goldenFormats are the machine-readable answers checked byte for byte.
var goldenFormats = []struct{ name, path string }{
	{"shmi-10-datapackage.json", "/datasets/shmi/releases/10/datapackage.json"},
	{"shmi-10-csv-metadata.json", "/datasets/shmi/releases/10/csv-metadata.json"},
	{"shmi-10-manifest.json", "/datasets/shmi/releases/10/manifest.json"},
	{"catalog.jsonld", "/catalog.jsonld"},
	{"openapi.json", "/api/v1/openapi.json"},
	{"ckan-package_show-shmi.json", "/api/3/action/package_show?id=shmi"},
	{"ckan-organization_list.json", "/api/3/action/organization_list?all_fields=true"},
	{"shmi-changes-9-10.csv", "/datasets/shmi/changes?from=9&to=10&format=csv"},
	{"shmi-changes-9-10.json", "/datasets/shmi/changes?from=9&to=10&format=json"},
	{"shmi-10-rows-RA2.csv", "/datasets/shmi/releases/10/rows/shmi-2014-01.csv?eq.PROVIDER=RA2&eq.PROVIDER=RR8"},
	{"shmi-10-rows-RA2.ndjson", "/datasets/shmi/releases/10/rows/shmi-2014-01.csv?eq.PROVIDER=RA2&eq.PROVIDER=RR8&format=ndjson"},
	{"shmi-10-rows-page.json", "/datasets/shmi/releases/10/rows/shmi-2014-01.csv?format=json&limit=3&after=5"},
	{"compare-RR8-RX1.csv", "/compare?org=RR8&org=RX1&format=csv"},
	{"calendar.json", "/calendar?format=json"},
}
