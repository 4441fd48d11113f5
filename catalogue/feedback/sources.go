package feedback

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// sourceFile is one source as a sources file writes it.
type sourceFile struct {
	Name     string `json:"name"`
	Title    string `json:"title"`
	FeedURL  string `json:"feed_url"`
	Format   Format `json:"format"`
	Interval string `json:"interval"`
	Homepage string `json:"homepage"`
}

// maxSourcesFile bounds a sources file (a few hundred sources).
const maxSourcesFile = 1 << 20

// ReadSources reads the feedback sources an operator configures, a JSON
// array such as
//
//	[{"name": "care-stories", "title": "Care Stories",
//	  "feed_url": "https://stories.example/feed.atom", "format": "atom",
//	  "interval": "1h", "homepage": "https://stories.example/"}]
//
// with the interval as a Go duration ("30m", "6h"). Every source must
// validate and names must be distinct; unknown fields are refused, so a
// misspelt one is not silently ignored.
func ReadSources(r io.Reader) ([]Source, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxSourcesFile))
	dec.DisallowUnknownFields()
	var files []sourceFile
	if err := dec.Decode(&files); err != nil {
		return nil, fmt.Errorf("%w: feedback sources: %v", ErrInvalid, err)
	}
	out := make([]Source, 0, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		interval, err := time.ParseDuration(f.Interval)
		if err != nil {
			return nil, invalid(fmt.Sprintf("feedback source %d (%s) interval", i+1, f.Name), "%q is not a duration such as 30m or 6h", f.Interval)
		}
		s := Source{Name: f.Name, Title: f.Title, FeedURL: f.FeedURL, Format: f.Format, Interval: interval, Homepage: f.Homepage}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, invalid("feedback source "+s.Name, "named twice")
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	return out, nil
}
