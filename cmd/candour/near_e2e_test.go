package main

import (
	"regexp"
	"strings"
	"testing"
)

// nearJourney is a citizen's search for care near TS18 1HU: open GP
// practices first, each with a distance and an address, then at least
// one hospital; no dormant or closed practice and no other prescribing
// cost centre (a prison, a drug service, out-of-hours) unless near=all
// asks for them. directory is epraccur's rows.
func nearJourney(t *testing.T, s *server, directory [][]string) {
	t.Helper()
	type entry struct{ status, setting string }
	ods := map[string]entry{}
	for _, r := range directory {
		ods[r[0]] = entry{r[12], r[25]}
	}
	item := regexp.MustCompile(`(?s)<li><a href="/organisations/([A-Z0-9]+)">[^<]+</a>\s*<span class="candour-near__distance">([^<]+)</span><br>\s*<span class="nhsuk-body-s">([^<]+)</span></li>`)
	list := func(page, id string) [][]string {
		start := strings.Index(page, `id="`+id+`"`)
		if start < 0 {
			return nil
		}
		end := strings.Index(page[start:], "</ol>")
		return item.FindAllStringSubmatch(page[start:start+end], -1)
	}
	page := s.mustGet(t, "/search?q=TS18+1HU")
	practices, hospitals := list(page, "near-list"), list(page, "near-hospitals")
	if len(practices) < 5 || len(hospitals) == 0 {
		t.Fatalf("near TS18 1HU: %d practices, %d hospitals listed", len(practices), len(hospitals))
	}
	for i, p := range practices {
		code, distance, details := p[1], p[2], p[3]
		if e := ods[code]; e.status != "A" || e.setting != "4" {
			t.Errorf("near TS18 1HU, practice %d is %s: ODS status %q, prescribing setting %q; only open GP practices belong here", i+1, code, e.status, e.setting)
		}
		if !strings.Contains(distance, "km") && distance != "at TS18 1HU" {
			t.Errorf("near TS18 1HU, %s has no distance: %q", code, distance)
		}
		if !regexp.MustCompile(`GP practice · .+, [A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2} · code `).MatchString(details) {
			t.Errorf("near TS18 1HU, %s lacks its type, address or postcode: %q", code, details)
		}
	}
	if !strings.HasPrefix(practices[0][2], "at TS18 1HU") {
		t.Errorf("the first practice near TS18 1HU is not one at that postcode: %q", practices[0])
	}
	for _, h := range hospitals {
		if !strings.HasPrefix(h[3], "Hospital site · ") && !strings.HasPrefix(h[3], "NHS trust · ") || !strings.Contains(h[2], "km") {
			t.Errorf("near TS18 1HU, hospital entry %q", h[0])
		}
	}
	// The main results leave out what the near lists leave out.
	results := page[strings.Index(page, `id="results"`):]
	for _, code := range regexp.MustCompile(`href="/organisations/([A-Z0-9]+)"`).FindAllStringSubmatch(results, -1) {
		if e, ok := ods[code[1]]; ok && (e.status != "A" || e.setting != "4") {
			t.Errorf("the results for TS18 1HU list %s (ODS status %q, prescribing setting %q)", code[1], e.status, e.setting)
		}
	}
	// near=all brings them back, said so.
	all := s.mustGet(t, "/search?q=TS18+1HU&near=all")
	var others int
	for _, p := range list(all, "near-list") {
		if e := ods[p[1]]; e.status != "A" || e.setting != "4" {
			others++
		}
	}
	if others == 0 || !strings.Contains(all, "show only open GP practices and hospitals") {
		t.Errorf("near=all lists no closed, dormant or other cost centre near TS18 1HU")
	}
	// A town, as the directory's addresses name it, works as well.
	town := s.mustGet(t, "/search?q=Stockton-on-Tees")
	if !strings.Contains(town, `<h2 id="nearest">Near Stockton-on-Tees</h2>`) || len(list(town, "near-list")) < 5 || len(list(town, "near-hospitals")) == 0 {
		t.Error("a search for Stockton-on-Tees lists no nearby practices and hospitals")
	}
	if other := s.mustGet(t, "/search?q=cancer"); strings.Contains(other, `id="nearest"`) {
		t.Error("a search for cancer lists places near it, as if it were a town")
	}
	if status, body, _ := s.get(t, "/search?q=TS18+1HU&near=everything"); status != 400 || !strings.Contains(body, "near") {
		t.Errorf("near=everything: %d, want 400 naming the parameter", status)
	}
}
