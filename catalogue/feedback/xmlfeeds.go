package feedback

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Entries []atomEntry `xml:"http://www.w3.org/2005/Atom entry"`
}

type atomEntry struct {
	ID         string        `xml:"http://www.w3.org/2005/Atom id"`
	Title      atomText      `xml:"http://www.w3.org/2005/Atom title"`
	Links      []atomLink    `xml:"http://www.w3.org/2005/Atom link"`
	Published  string        `xml:"http://www.w3.org/2005/Atom published"`
	Updated    string        `xml:"http://www.w3.org/2005/Atom updated"`
	Content    *atomText     `xml:"http://www.w3.org/2005/Atom content"`
	Summary    *atomText     `xml:"http://www.w3.org/2005/Atom summary"`
	Categories []xmlCategory `xml:"http://www.w3.org/2005/Atom category"`
	Org        string        `xml:"https://github.com/candour/candour/ns/feedback/1 organisation"`
	Rating     string        `xml:"https://github.com/candour/candour/ns/feedback/1 rating"`
	Response   *extResponse  `xml:"https://github.com/candour/candour/ns/feedback/1 response"`
}

// atomText is an Atom text construct: type "text" (the default), "html"
// or "xhtml". Its text is gathered token by token (UnmarshalXML), since a
// decoder over a token reader cannot give the raw inner XML.
type atomText struct {
	Type string
	Text string
}

// UnmarshalXML gathers the element's character data, marking the ends of
// xhtml paragraphs, divisions, list items and line breaks with new lines.
func (t *atomText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "type" {
			t.Type = a.Value
		}
	}
	var b strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case xml.StartElement:
			depth++
			if v.Name.Local == "br" {
				b.WriteString("\n")
			}
		case xml.EndElement:
			if depth == 0 {
				t.Text = b.String()
				return nil
			}
			depth--
			switch v.Name.Local {
			case "p", "div", "li":
				b.WriteString("\n")
			}
		case xml.CharData:
			b.Write(v)
		}
	}
}

func (t *atomText) text() string {
	if t == nil {
		return ""
	}
	switch t.Type {
	case "html":
		return htmlToText(t.Text)
	case "xhtml":
		return tidyLines(t.Text)
	}
	return t.Text
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

// xmlCategory is an Atom category (scheme and term) or an RSS one
// (domain and text).
type xmlCategory struct {
	Scheme string `xml:"scheme,attr"`
	Term   string `xml:"term,attr"`
	Domain string `xml:"domain,attr"`
	Text   string `xml:",chardata"`
}

type extResponse struct {
	Published string `xml:"published,attr"`
	Text      string `xml:",chardata"`
}

type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel *struct {
		Items []rssItem `xml:"item"`
	} `xml:"channel"`
}

type rssItem struct {
	GUID        string        `xml:"guid"`
	Link        string        `xml:"link"`
	Title       string        `xml:"title"`
	Description string        `xml:"description"`
	PubDate     string        `xml:"pubDate"`
	Categories  []xmlCategory `xml:"category"`
	Org         string        `xml:"https://github.com/candour/candour/ns/feedback/1 organisation"`
	Rating      string        `xml:"https://github.com/candour/candour/ns/feedback/1 rating"`
	Response    *extResponse  `xml:"https://github.com/candour/candour/ns/feedback/1 response"`
}

func parseAtom(source string, body []byte, lim Limits) ([]entry, error) {
	var f atomFeed
	if err := decodeXML(source, body, lim, &f); err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(f.Entries))
	for _, e := range f.Entries {
		comment := e.Content.text()
		if strings.TrimSpace(comment) == "" {
			comment = e.Summary.text()
		}
		published := e.Published
		if strings.TrimSpace(published) == "" {
			published = e.Updated
		}
		x := entry{id: e.ID, link: atomAlternate(e.Links), published: published, title: e.Title.text(), comment: comment}
		x.organisation, x.rating = e.Org, e.Rating
		fromCategories(&x, e.Categories)
		fromResponse(&x, e.Response)
		out = append(out, x)
	}
	return out, nil
}

func atomAlternate(links []atomLink) string {
	for _, l := range links {
		if l.Rel == "alternate" || l.Rel == "" {
			return l.Href
		}
	}
	return ""
}

func parseRSS(source string, body []byte, lim Limits) ([]entry, error) {
	var d rssDoc
	if err := decodeXML(source, body, lim, &d); err != nil {
		return nil, err
	}
	if d.Channel == nil {
		return nil, refused(source, ErrMalformed, "an RSS document without a channel")
	}
	out := make([]entry, 0, len(d.Channel.Items))
	for _, it := range d.Channel.Items {
		id := it.GUID
		if strings.TrimSpace(id) == "" {
			id = it.Link
		}
		x := entry{id: id, link: it.Link, published: it.PubDate, title: it.Title, comment: htmlToText(it.Description)}
		x.organisation, x.rating = it.Org, it.Rating
		fromCategories(&x, it.Categories)
		fromResponse(&x, it.Response)
		out = append(out, x)
	}
	return out, nil
}

// fromCategories fills an entry's organisation and rating from categories
// in the ODS and rating schemes when the extension elements gave none.
func fromCategories(x *entry, cats []xmlCategory) {
	for _, c := range cats {
		scheme, term := c.Scheme, c.Term
		if scheme == "" {
			scheme, term = c.Domain, c.Text
		}
		switch {
		case scheme == SchemeODS && strings.TrimSpace(x.organisation) == "":
			x.organisation = term
		case scheme == SchemeRating && strings.TrimSpace(x.rating) == "":
			x.rating = term
		}
	}
}

func fromResponse(x *entry, r *extResponse) {
	if r != nil {
		x.response, x.responded = r.Text, r.Published
	}
}

// declaredEncoding finds the encoding an XML declaration names.
var declaredEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']`)

// decodeXML decodes body into v, refusing a declared encoding other than
// UTF-8 (or its subset US-ASCII), nesting deeper than lim.MaxDepth, and
// anything encoding/xml does not accept in strict mode.
func decodeXML(source string, body []byte, lim Limits, v any) error {
	if m := declaredEncoding.FindSubmatch(body); m != nil && !isUTF8Name(string(m[1])) {
		return refused(source, ErrEncoding, "it declares encoding %q; only UTF-8 is read", m[1])
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if isUTF8Name(label) {
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q", label)
	}
	depth := &depthLimit{d: d, max: lim.MaxDepth}
	err := xml.NewTokenDecoder(depth).Decode(v)
	switch {
	case errors.Is(err, ErrTooDeep):
		return refused(source, ErrTooDeep, "more than %d elements deep", lim.MaxDepth)
	case err != nil:
		return refused(source, ErrMalformed, "%v", err)
	}
	return nil
}

func isUTF8Name(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// depthLimit passes a decoder's tokens on, failing once elements nest
// deeper than max.
type depthLimit struct {
	d     *xml.Decoder
	depth int
	max   int
}

func (l *depthLimit) Token() (xml.Token, error) {
	t, err := l.d.Token()
	switch t.(type) {
	case xml.StartElement:
		l.depth++
		if l.depth > l.max {
			return nil, ErrTooDeep
		}
	case xml.EndElement:
		l.depth--
	}
	return t, err
}
