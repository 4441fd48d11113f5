package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

// The demo's generated feeds parse as the feedback parser reads a live
// source's: every story an item, with its organisation, rating, link back
// and response, and none refused; the story with an NHS number is held.
func TestDemoFeedsParse(t *testing.T) {
	now := time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)
	for _, src := range demoFeedbackSources {
		if err := src.Validate(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(src.Title, "synthetic") {
			t.Errorf("source %s is not labelled synthetic: %q", src.Name, src.Title)
		}
		var buf bytes.Buffer
		if err := writeDemoFeed(&buf, src, now); err != nil {
			t.Fatal(err)
		}
		parsed, err := feedback.Parse(src, &buf, feedback.DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v\n%s", src.Name, err, buf.String())
		}
		stories := demoStories[src.Name]
		if len(parsed.Items) != len(stories) || len(parsed.Refused) != 0 {
			t.Fatalf("%s: %d items and refusals %v, want %d items", src.Name, len(parsed.Items), parsed.Refused, len(stories))
		}
		held := 0
		for i, it := range parsed.Items {
			s := stories[i]
			if it.Organisation != s.org || int(it.Rating) != s.rating || it.Comment != s.comment || it.Title != s.title ||
				it.Response.Text != s.response || !strings.HasPrefix(it.Link, src.Homepage) || it.Published.After(now) {
				t.Errorf("%s item %d: %+v, want %+v", src.Name, i, it, s)
			}
			if feedback.Screened(it).State == feedback.StateHeld {
				held++
			}
		}
		if want := map[string]int{"synthetic-patient-stories": 1}[src.Name]; held != want {
			t.Errorf("%s: %d items held, want %d", src.Name, held, want)
		}
	}
}
