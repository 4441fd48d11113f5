package main

import (
	"regexp"
	"strings"
	"testing"
)

// comparePageChecks reads the compare page as a citizen would: every
// indicator says which way is better and what it is compared with, every
// value its period and benchmark, an old value its age; and an entry that
// names no single organisation keeps the comparison and offers choices
// as links, never a 404.
func comparePageChecks(t *testing.T, s *server) {
	t.Helper()
	page := s.mustGet(t, "/compare?org=RR8&org=RX1")
	for _, want := range []string{"Leeds Teaching Hospitals NHS Trust", "Nottingham University Hospitals NHS Trust", "Deaths compared with the number expected"} {
		if !strings.Contains(page, want) {
			t.Errorf("compare page lacks %q", want)
		}
	}
	body := page[strings.Index(page, `<tbody`):strings.Index(page, `</tbody>`)]
	rows := strings.Split(body, `<tr class="nhsuk-table__row">`)[1:]
	if len(rows) < 5 {
		t.Fatalf("the comparison of RR8 and RX1 has %d rows", len(rows))
	}
	direction := regexp.MustCompile(`candour-direction">(Higher is better|Lower is better|Neither higher nor lower is better)[^<]*(Compared with|Judged against)`)
	for _, row := range rows {
		title := regexp.MustCompile(`<a href="/indicators/([^"]+)"`).FindStringSubmatch(row)
		if title == nil || !direction.MatchString(row) {
			t.Errorf("a compared indicator lacks its direction or benchmark: %.200s", row)
			continue
		}
		for _, cell := range strings.Split(row, `<td class="nhsuk-table__cell">`)[1:] {
			if strings.HasPrefix(cell, "No data") {
				continue
			}
			if !strings.Contains(cell, `candour-period">Period: `) || !strings.Contains(cell, `candour-benchmark">Benchmark: `) {
				t.Errorf("%s: a value without its period or benchmark: %.300s", title[1], cell)
			}
		}
	}
	// SHMI's latest period here is from 2014: its age is said.
	if !regexp.MustCompile(`candour-age">\(from January 2014, \d+ years old\)`).MatchString(page) {
		t.Error("the comparison does not say the 2014 SHMI figures' age")
	}

	for _, c := range []struct {
		query, want, link string
	}{
		{"org=RR8&org=Nottingham+Univ", "matches more than one organisation", `href="/compare?org=RR8&amp;org=RX1"`},
		{"org=RR8&org=ZZZ9", "We could not find “ZZZ9”", `<input type="hidden" name="org" value="RR8">`},
		{"org=RR8&org=TS18+1HU", "Which organisation near TS18 1HU?", `href="/compare?org=RR8&amp;org=A81001"`},
	} {
		status, body, _ := s.get(t, "/compare?"+c.query)
		if status != 200 || !strings.Contains(body, c.want) || !strings.Contains(body, c.link) || !strings.Contains(body, "So far: <a href=\"/organisations/RR8\"") {
			t.Errorf("/compare?%s: %d; want 200 with %q, %q and RR8 kept", c.query, status, c.want, c.link)
		}
	}
}
