package feedback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonFeed is JSON Feed 1.1 (https://jsonfeed.org/version/1.1) with the
// _feedback extension object on each item:
//
//	{"version": "https://jsonfeed.org/version/1.1", "title": "…",
//	 "items": [{"id": "op-1", "url": "https://…", "title": "…",
//	            "content_text": "…", "date_published": "2026-03-01T10:00:00Z",
//	            "_feedback": {"organisation": "RR8", "rating": 4,
//	                          "response": {"text": "…", "date_published": "…"}}}]}
type jsonFeed struct {
	Version string     `json:"version"`
	Items   []jsonItem `json:"items"`
}

type jsonItem struct {
	ID            idText `json:"id"`
	URL           string `json:"url"`
	Title         string `json:"title"`
	ContentText   string `json:"content_text"`
	ContentHTML   string `json:"content_html"`
	DatePublished string `json:"date_published"`
	DateModified  string `json:"date_modified"`
	Feedback      *struct {
		Organisation string          `json:"organisation"`
		Rating       json.RawMessage `json:"rating"`
		Response     *struct {
			Text          string `json:"text"`
			DatePublished string `json:"date_published"`
		} `json:"response"`
	} `json:"_feedback"`
}

// idText is a JSON Feed id: a string, or a number as many feeds write it.
type idText string

func (t *idText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = idText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("an item id that is neither a string nor a number")
	}
	*t = idText(n.String())
	return nil
}

func parseJSON(source string, body []byte, lim Limits) ([]entry, error) {
	if err := checkJSON(source, body, lim.MaxDepth); err != nil {
		return nil, err
	}
	var f jsonFeed
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, refused(source, ErrMalformed, "%v", err)
	}
	if !strings.HasPrefix(f.Version, "https://jsonfeed.org/version/1") {
		return nil, refused(source, ErrMalformed, "not a JSON Feed (version %q)", f.Version)
	}
	out := make([]entry, 0, len(f.Items))
	for _, it := range f.Items {
		out = append(out, it.entry())
	}
	return out, nil
}

func (it jsonItem) entry() entry {
	x := entry{id: string(it.ID), link: it.URL, published: it.DatePublished, title: it.Title, comment: it.ContentText}
	if strings.TrimSpace(x.published) == "" {
		x.published = it.DateModified
	}
	if strings.TrimSpace(x.comment) == "" {
		x.comment = htmlToText(it.ContentHTML)
	}
	if fb := it.Feedback; fb != nil {
		x.organisation = fb.Organisation
		if len(fb.Rating) > 0 && string(fb.Rating) != "null" {
			x.rating = strings.Trim(string(fb.Rating), `"`)
		}
		if fb.Response != nil {
			x.response, x.responded = fb.Response.Text, fb.Response.DatePublished
		}
	}
	return x
}

// checkJSON reads body token by token: one JSON value, nested no deeper
// than max objects and arrays.
func checkJSON(source string, body []byte, max int) error {
	d := json.NewDecoder(bytes.NewReader(body))
	depth, values := 0, 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return refused(source, ErrMalformed, "%v", err)
		}
		if depth == 0 {
			values++
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > max {
				return refused(source, ErrTooDeep, "more than %d objects or arrays deep", max)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	switch {
	case values == 0:
		return refused(source, ErrMalformed, "the document is empty")
	case values > 1:
		return refused(source, ErrMalformed, "%s", fmt.Sprintf("%d values where one document was expected", values))
	}
	return nil
}
