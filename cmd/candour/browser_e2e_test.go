package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// newChromium starts headless Chromium (Debian's, or CANDOUR_CHROMIUM) with
// the flags tech-notes.md gives for this closed network. Without one the
// browser tests skip, unless CANDOUR_REQUIRE_BROWSER is set (CI sets it),
// when they fail. Uncaught JavaScript exceptions are collected.
func newChromium(t *testing.T) (context.Context, *jsErrors) {
	t.Helper()
	return newChromiumFor(t, 2*time.Minute)
}

// newChromiumFor is newChromium for a suite that needs longer than two
// minutes in all (a server built with -race answers slowly).
func newChromiumFor(t *testing.T, limit time.Duration) (context.Context, *jsErrors) {
	t.Helper()
	path := os.Getenv("CANDOUR_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CANDOUR_REQUIRE_BROWSER") != "" {
			t.Fatal("CANDOUR_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium, or set CANDOUR_CHROMIUM)")
		}
		t.Skip("no Chromium here: the browser tests need it (apt-get install chromium); CI installs it and does not skip")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTime(); cancelCtx(); cancelAlloc() })
	errs := &jsErrors{}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			errs.add(exceptionText(e.ExceptionDetails))
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ctx, errs
}

// jsErrors collects uncaught exceptions (events arrive on another
// goroutine).
type jsErrors struct {
	mu   sync.Mutex
	list []string
}

func (e *jsErrors) add(s string) { e.mu.Lock(); e.list = append(e.list, s); e.mu.Unlock() }

func (e *jsErrors) all() []string { e.mu.Lock(); defer e.mu.Unlock(); return slices.Clone(e.list) }

// browserChecks drives the demo's pages in a real browser: the scripts
// run under the site's Content-Security-Policy, the charts draw, and the
// organisation picker suggests from the search API and leads to a
// comparison.
func browserChecks(t *testing.T, s *server) {
	ctx, errs := newChromium(t)
	count := func(selector string) string {
		return fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)
	}

	wait := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
	}

	t.Run("charts draw", func(t *testing.T) {
		for _, page := range []string{"/indicators/shmi", "/organisations/RR8", "/audits/synthetic-surgical-outcomes"} {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+page), chromedp.WaitReady(chromedp.CSS("body")),
				wait(count(".candour-chart--drawn svg")+" > 0")); err != nil {
				t.Errorf("%s: no chart drawn: %v", page, err)
				continue
			}
			charts, err1 := chromedp.Run(ctx, chromedp.Evaluate[int](count("[data-chart]")))
			drawn, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](count(".candour-chart--drawn svg")))
			if err1 != nil || err2 != nil || charts == 0 || drawn < charts {
				t.Errorf("%s: %d charts, %d drawn (%v, %v)", page, charts, drawn, err1, err2)
			}
		}
	})

	t.Run("the organisation picker suggests and compares", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.base+"/compare?org=RR8"),
			chromedp.WaitVisible(chromedp.CSS("#add-org")),
			chromedp.SendKeys(chromedp.CSS("#add-org"), "Nottingham University"),
			wait(count("#org-suggestions option")+" > 0"),
		)
		if err != nil {
			t.Fatalf("suggestions: %v", err)
		}
		options, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#org-suggestions option')].map(o => o.value + " " + o.label)`))
		if err != nil || len(options) == 0 || !strings.HasPrefix(options[0], "RX1 ") {
			t.Fatalf("suggestions for %q: %q (%v), want Nottingham University Hospitals (RX1) first", "Nottingham University", options, err)
		}
		// Choosing the suggestion puts its code in the box; the form then
		// asks for the comparison.
		err = chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS("#add-org"), "RX1"),
			chromedp.Submit(chromedp.CSS("#add-org")),
			chromedp.WaitVisible(chromedp.CSS("#compare")),
		)
		if err != nil {
			t.Fatalf("comparison: %v", err)
		}
		columns, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#compare thead th a')].map(a => a.textContent).join(" | ")`))
		if err != nil || !strings.Contains(columns, "Leeds Teaching Hospitals") || !strings.Contains(columns, "Nottingham University Hospitals") {
			t.Errorf("the comparison's columns: %q (%v)", columns, err)
		}
	})

	// Accessibility: axe-core (npm, installed by make assets) on the main
	// kinds of page; no serious or critical failure of WCAG 2.1 A or AA.
	t.Run("accessibility (axe-core, WCAG 2.1 AA)", func(t *testing.T) {
		axe, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			t.Fatalf("axe-core is not installed (npm ci, as make test does): %v", err)
		}
		for _, page := range []string{"/", "/datasets", "/datasets/shmi", "/datasets/shmi/releases/10", "/datasets/shmi/changes?from=9&to=10",
			"/organisations", "/organisations/RR8", "/indicators/shmi", "/compare?org=RR8&org=RX1", "/search?q=leeds", "/audits",
			"/audits/synthetic-surgical-outcomes", "/calendar", "/transparency", "/api", "/account/login", "/pages/publishing"} {
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+page), chromedp.WaitReady(chromedp.CSS("body")),
				chromedp.Evaluate[chromedp.Void](string(axe))); err != nil {
				t.Errorf("%s: %v", page, err)
				continue
			}
			found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
				.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
				.map(v => v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.length + " elements, e.g. " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")))`,
				chromedp.EvalAwaitPromise))
			if err != nil {
				t.Errorf("%s: axe: %v", page, err)
				continue
			}
			for _, v := range found {
				t.Errorf("%s: %s", page, v)
			}
		}
	})

	if errs := errs.all(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions: %q", errs)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d)", text, d.URL, d.LineNumber+1)
}
