package feedback_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

func TestReadSources(t *testing.T) {
	got, err := feedback.ReadSources(strings.NewReader(`[
		{"name": "care-stories", "title": "Care Stories", "feed_url": "https://stories.example/feed.atom",
		 "format": "atom", "interval": "1h", "homepage": "https://stories.example/"},
		{"name": "rate-my-gp", "title": "Rate my GP", "feed_url": "http://127.0.0.1:9000/feed.json",
		 "format": "json", "interval": "30m"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []feedback.Source{
		{Name: "care-stories", Title: "Care Stories", FeedURL: "https://stories.example/feed.atom", Format: feedback.FormatAtom,
			Interval: time.Hour, Homepage: "https://stories.example/"},
		{Name: "rate-my-gp", Title: "Rate my GP", FeedURL: "http://127.0.0.1:9000/feed.json", Format: feedback.FormatJSON,
			Interval: 30 * time.Minute},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	const one = `{"name": "a", "title": "A", "feed_url": "https://a.example/f", "format": "rss", "interval": "1h"}`
	cases := []struct {
		name, doc, says string
	}{
		{"not an array", `{}`, "cannot unmarshal"},
		{"misspelt field", `[{"name": "a", "titel": "A"}]`, "unknown field"},
		{"bad interval", strings.Replace("["+one+"]", `"1h"`, `"hourly"`, 1), "not a duration"},
		{"too frequent", strings.Replace("["+one+"]", `"1h"`, `"5s"`, 1), "interval"},
		{"unknown format", strings.Replace("["+one+"]", `"rss"`, `"csv"`, 1), "format"},
		{"named twice", "[" + one + "," + one + "]", "named twice"},
	}
	for _, c := range cases {
		if _, err := feedback.ReadSources(strings.NewReader(c.doc)); !errors.Is(err, feedback.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want ErrInvalid saying %q", c.name, err, c.says)
		}
	}
}
