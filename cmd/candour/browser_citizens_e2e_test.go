package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// citizenBrowserChecks is the public site in a real browser as citizens
// meet it: axe-core (WCAG 2.0, 2.1 and 2.2 A and AA) finds nothing on any
// kind of page at 1280 and 390 pixels wide; no page is wider than a
// 320-pixel screen; keyboard-only journeys work with visible focus and no
// trap; with JavaScript off, search, filters, scorecards, comparison,
// extracts and downloads still work. Screenshots of the main pages at
// both widths are written to a folder the test names.
func citizenBrowserChecks(t *testing.T, s *server) {
	ctx, errs := newChromiumFor(t, 15*time.Minute)
	pages := citizenPageTypes(t, s)

	t.Run("axe-core finds nothing at 1280 and 390 px", func(t *testing.T) {
		axe, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			t.Fatalf("axe-core is not installed (npm ci, as make test does): %v", err)
		}
		for _, width := range []int64{1280, 390} {
			for _, page := range pages {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(s.base+page),
					chromedp.WaitReady(chromedp.CSS("body")), chromedp.Evaluate[chromedp.Void](string(axe))); err != nil {
					t.Errorf("%s at %d px: %v", page, width, err)
					continue
				}
				found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
					.then(r => r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.length + " elements, e.g. " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")))`,
					chromedp.EvalAwaitPromise))
				if err != nil {
					t.Errorf("%s at %d px: axe: %v", page, width, err)
					continue
				}
				for _, v := range found {
					t.Errorf("%s at %d px: %s", page, width, v)
				}
			}
		}
	})

	t.Run("no page is wider than a 320 px screen", func(t *testing.T) {
		for _, page := range pages {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640), chromedp.Navigate(s.base+page), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Errorf("%s: %v", page, err)
				continue
			}
			widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
			if err != nil || len(widths) != 2 || widths[0] > widths[1] {
				t.Errorf("%s at 320 px: the page is %v wide (document, viewport) and scrolls sideways (%v)", page, widths, err)
			}
		}
	})

	t.Run("chart titles and axis names fit at 390 px", func(t *testing.T) {
		for _, page := range []string{"/indicators/shmi", "/indicators/cancer-62-day", "/audits/synthetic-surgical-outcomes"} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 900), chromedp.Navigate(s.base+page), chromedp.WaitReady(chromedp.CSS("body")),
				chromedp.Poll[chromedp.Void](`document.querySelectorAll(".candour-chart--drawn svg").length > 0`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
				t.Errorf("%s: no chart drawn: %v", page, err)
				continue
			}
			clipped, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".candour-chart--drawn svg")].flatMap(svg => {
				const box = svg.getBoundingClientRect();
				return [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() !== "").filter(t => { const r = t.getBoundingClientRect();
					return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1); }).map(t => t.textContent); })`))
			if err != nil || len(clipped) > 0 {
				t.Errorf("%s at 390 px: chart text cut off at the chart's edge: %q (%v)", page, clipped, err)
			}
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		dir, err := os.MkdirTemp("", "candour-screenshots-")
		if err != nil {
			t.Fatal(err)
		}
		for name, page := range map[string]string{"home": "/", "search": "/search?q=TS18+1HU", "gp": "/organisations/A81001",
			"trust": "/organisations/RR8", "compare": "/compare?org=RR8&org=RX1", "indicator": "/indicators/shmi",
			"audit": "/audits/synthetic-surgical-outcomes"} {
			for _, width := range []int64{1280, 390} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(s.base+page), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
					t.Errorf("%s: %v", page, err)
					continue
				}
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Errorf("%s at %d px: screenshot: %v", page, width, err)
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Logf("screenshots of the main pages at 1280 and 390 px: %s", dir)
		fmt.Printf("candour: browser screenshots written to %s\n", dir)
	})

	t.Run("keyboard only: find a GP by postcode, open its page, compare two trusts", func(t *testing.T) { keyboardJourneys(t, ctx, s) })
	t.Run("keyboard only: no page traps the focus", func(t *testing.T) {
		for _, page := range []string{"/", "/search?q=TS18+1HU", "/organisations/RR8", "/compare?org=RR8&org=RX1", "/indicators/shmi", "/datasets/shmi/releases/10"} {
			noKeyboardTrap(t, ctx, s.base+page)
		}
	})

	t.Run("without JavaScript", func(t *testing.T) { withoutJavaScript(t, s) })

	if errs := errs.all(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions: %q", errs)
	}
}

// citizenPageTypes lists one page of every public kind.
func citizenPageTypes(t *testing.T, s *server) []string {
	t.Helper()
	unit := regexp.MustCompile(`href="(/audits/synthetic-surgical-outcomes/units/[^"]+)"`).FindStringSubmatch(s.mustGet(t, "/audits/synthetic-surgical-outcomes"))
	publisher := regexp.MustCompile(`href="(/publishers/[^"]+)"`).FindStringSubmatch(s.mustGet(t, "/datasets/shmi"))
	pages := []string{"/", "/datasets", "/datasets/shmi", "/datasets/shmi/releases/10", "/datasets/shmi/changes?from=9&to=10",
		"/organisations", "/organisations/RR8", "/organisations/A81001", "/areas", "/areas/Y63", "/areas/QHM", "/indicators", "/indicators/shmi", "/indicators/cancer-62-day",
		"/indicators/cqc-overall-rating/breakdown?by=deprivation", "/map?indicator=shmi", "/map?indicator=shmi&near=LS1+4AP",
		"/compare?org=RR8&org=RX1", "/compare?org=RR8&org=Nottingham+Univ", "/search?q=leeds", "/search?q=TS18+1HU", "/audits",
		"/audits/synthetic-surgical-outcomes", "/calendar", "/transparency", "/register", "/api", "/account/login",
		"/pages/how-we-compare", "/pages/developers", "/no-such-page"}
	if unit != nil {
		pages = append(pages, strings.ReplaceAll(unit[1], "&amp;", "&"))
	} else {
		t.Error("the audit page links no unit")
	}
	if publisher != nil {
		pages = append(pages, publisher[1])
	} else {
		t.Error("the SHMI dataset page links no publisher")
	}
	return pages
}

// tabTo presses Tab until the focused element matches selector, at most
// limit times, and says whether the focus can be seen.
func tabTo(ctx context.Context, selector string, limit int) error {
	for i := 0; i < limit; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			return err
		}
		here, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, selector)))
		if err != nil {
			return err
		}
		if here {
			visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](focusVisible))
			if err != nil || !visible {
				return fmt.Errorf("%s has the focus but it cannot be seen (%v)", selector, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%d presses of Tab never reached %s", limit, selector)
}

// focusVisible says whether the focused element shows it: an outline, a
// box shadow or the design system's yellow focus background.
const focusVisible = `(() => { const s = getComputedStyle(document.activeElement);
	return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none" || s.backgroundColor === "rgb(255, 235, 59)"; })()`

func keyboardJourneys(t *testing.T, ctx context.Context, s *server) {
	// wait polls through a navigation (whose old page's context vanishes
	// under an evaluation) until expr is true in the new page.
	wait := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(context.Context, *chromedp.Target) error {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return fmt.Errorf("%s never became true", expr)
		})
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open the home page", chromedp.Do(ctx, chromedp.EmulateViewport(390, 800), chromedp.Navigate(s.base+"/"), chromedp.WaitReady(chromedp.CSS("body"))))
	step("tab to Search in the menu", tabTo(ctx, `a[href="/search"]`, 20))
	step("follow it", chromedp.Do(ctx, chromedp.KeyEvent("\r"), wait(`location.pathname === "/search"`)))
	step("tab to the search box", tabTo(ctx, "#q", 30))
	step("search for TS18 1HU", chromedp.Do(ctx, chromedp.KeyEvent("TS18 1HU\r"), wait(`!!document.querySelector("#near-list a")`)))
	step("tab to the first practice near it", tabTo(ctx, "#near-list li:first-child a", 80))
	step("open it", chromedp.Do(ctx, chromedp.KeyEvent("\r"), wait(`location.pathname.startsWith("/organisations/A81")`)))

	step("open the compare page", chromedp.Do(ctx, chromedp.Navigate(s.base+"/compare"), chromedp.WaitReady(chromedp.CSS("body"))))
	step("tab to the organisation box", tabTo(ctx, "#add-org", 40))
	step("choose Leeds Teaching Hospitals", chromedp.Do(ctx, chromedp.KeyEvent("RR8\r"), wait(`location.search.includes("org=RR8")`)))
	step("tab to the organisation box again", tabTo(ctx, "#add-org", 40))
	step("add Nottingham University Hospitals", chromedp.Do(ctx, chromedp.KeyEvent("RX1\r"), wait(`!!document.querySelector("#compare")`)))
	columns, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#compare thead th").length`))
	if err != nil || columns != 3 {
		t.Errorf("the keyboard-made comparison has %d columns (%v), want the indicator and two trusts", columns, err)
	}
}

// noKeyboardTrap tabs through a page: the focus must reach its last
// focusable element (the footer's last link) and move on, never caught
// in a loop on the way.
func noKeyboardTrap(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	// Tabbing starts once the page's scripts have run: the header's
	// script moves menu items as it starts.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.Poll[chromedp.Void](`document.readyState === "complete"`, chromedp.WithPollingTimeout(20*time.Second)), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	last, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const a = [...document.querySelectorAll("footer a")]; return a.length ? a[a.length-1].getAttribute("href") : ""; })()`))
	if err != nil || last == "" {
		t.Fatalf("%s: no footer link (%v)", page, err)
	}
	seen := map[string]int{}
	var path []string
	for i := 0; i < 600; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement; if (!e || e === document.body) return "body";
			const path = []; for (let n = e; n && n !== document.body; n = n.parentElement) path.unshift(n.tagName + ":" + [...n.parentElement.children].indexOf(n)); return path.join("/") + " " + (e.getAttribute("href") || ""); })()`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(id, " "+last) && strings.Contains(id, "FOOTER") {
			return
		}
		path = append(path, id)
		if seen[id]++; seen[id] > 1 {
			t.Errorf("%s: the focus came back to %s before reaching the footer (last: %q): a keyboard trap", page, id, path[max(0, len(path)-6):])
			return
		}
	}
	t.Errorf("%s: 600 presses of Tab never reached the footer's last link", page)
}

// withoutJavaScript runs the citizens' paths in a browser whose pages
// run no script.
func withoutJavaScript(t *testing.T, s *server) {
	ctx, _ := newChromiumFor(t, 5*time.Minute)
	noScript := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), noScript); err != nil {
		t.Fatal(err)
	}
	count := func(selector string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	submit := func(page, form string, fields map[string]string) {
		t.Helper()
		actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.base + page), chromedp.WaitReady(chromedp.CSS("body"))}
		for sel, v := range fields {
			actions = append(actions, chromedp.SetValue(chromedp.CSS(sel), v))
		}
		actions = append(actions, chromedp.Submit(chromedp.CSS(form+" button")), chromedp.Sleep(300*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body")))
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s, %s: %v", page, form, err)
		}
	}
	if js, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.classList.contains("js-enabled")`)); js {
		t.Fatal("script still runs: the check would prove nothing")
	}

	submit("/search", "#search-form", map[string]string{"#q": "TS18 1HU"})
	if count("#near-list li") == 0 || count("#results li") == 0 {
		t.Error("without JavaScript, searching for TS18 1HU lists nothing")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#facet-kind a")), chromedp.Sleep(300*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body"))); err != nil || count("#active-filters") == 0 {
		t.Errorf("without JavaScript, a search filter does not apply (%v)", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/organisations/RR8"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil || count("#scorecard-table tbody tr") < 3 {
		t.Errorf("without JavaScript, the scorecard has no rows (%v)", err)
	}
	if count(".candour-nochart") > 0 {
		if visible, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector(".candour-nochart")).display !== "none"`)); !visible {
			t.Error("without JavaScript, a chart's place does not say the table holds its figures")
		}
	}
	submit("/compare", "#add-organisation", map[string]string{"#add-org": "Leeds Teaching"})
	submit(mustLocation(t, ctx), "#add-organisation", map[string]string{"#add-org": "RX1"})
	if count("#compare tbody tr") < 3 {
		t.Errorf("without JavaScript, comparing Leeds Teaching and RX1 gives no table (at %s)", mustLocation(t, ctx))
	}
	submit("/indicators/shmi", "form.candour-filters", nil)
	if count("table tbody tr") == 0 {
		t.Error("without JavaScript, the indicator's filter form shows nothing")
	}
	// The extract form, as JSON (a CSV would be saved, not shown).
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/datasets/shmi/releases/10"), chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.SetValue(chromedp.CSS("#extract-1-org"), "RR8"), chromedp.Click(chromedp.CSS("#extract-1-json")),
		chromedp.Submit(chromedp.CSS("#extract-1 button")), chromedp.Sleep(300*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil || !strings.Contains(body, `"RR8"`) || strings.Count(body, `"PROVIDER":`) != 1 {
		t.Errorf("without JavaScript, the extract form gives %.300q (%v), want RR8's one row", body, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/datasets/shmi/releases/10"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("a[download]").getAttribute("href")`))
	if err != nil || href == "" {
		t.Fatalf("without JavaScript, the release page has no download link (%v)", err)
	}
	if status, _, _ := s.get(t, href); status != 200 {
		t.Errorf("the download %s: %d", href, status)
	}
}

func mustLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
