package feedback_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

func source(f feedback.Format) feedback.Source {
	return feedback.Source{Name: "reviews-" + string(f), Title: "Reviews", FeedURL: "https://reviews.example/feed",
		Format: f, Interval: time.Hour}
}

func parseFile(t *testing.T, f feedback.Format, file string) feedback.Parsed {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := feedback.Parse(source(f), bytes.NewReader(b), feedback.DefaultLimits)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return p
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// refusedIDs lists refused entries as position:reason-fragment checks.
func checkRefused(t *testing.T, got []feedback.Refusal, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d refusals %v, want %d", len(got), got, len(want))
	}
	for _, r := range got {
		frag, ok := want[r.Position]
		if !ok || !strings.Contains(r.Reason, frag) {
			t.Errorf("refusal %v: want entry %d's reason to contain %q", r, r.Position, frag)
		}
		if !strings.Contains(r.String(), r.Source) {
			t.Errorf("refusal %q does not name its source", r.String())
		}
	}
}

func TestParseAtom(t *testing.T) {
	p := parseFile(t, feedback.FormatAtom, "atom.xml")
	want := []feedback.Item{
		{Source: "reviews-atom", ID: "tag:reviews.example,2026:story/101", Organisation: "RR8",
			Link: "https://reviews.example/stories/101", Published: at("2026-03-01T10:15:00Z"), Rating: 5,
			Title: "Kind staff in the discharge lounge", Comment: "The nurses explained everything.",
			Response: feedback.Response{Text: "Thank you, we have passed this on to the team.", Published: at("2026-03-02T08:30:00Z")}},
		{Source: "reviews-atom", ID: "tag:reviews.example,2026:story/102", Organisation: "RX1",
			Link: "https://reviews.example/stories/102", Published: at("2026-02-27T16:00:00Z"), Rating: 2,
			Title: "Long wait again", Comment: "Four hours in A&E.\nNobody told us why."},
	}
	if !reflect.DeepEqual(p.Items, want) {
		t.Errorf("items:\n got %+v\nwant %+v", p.Items, want)
	}
	checkRefused(t, p.Refused, map[int]string{3: "rating", 4: "no organisation", 5: "repeated"})
}

func TestParseRSS(t *testing.T) {
	p := parseFile(t, feedback.FormatRSS, "rss.xml")
	want := []feedback.Item{
		{Source: "reviews-rss", ID: "review-9001", Organisation: "A81001", Link: "https://practices.example/reviews/9001",
			Published: at("2026-03-01T10:15:00Z"), Rating: 4, Title: "Easy to get an appointment",
			Comment:  "Booked online the same day.",
			Response: feedback.Response{Text: "Thank you for your review.", Published: at("2026-03-02T09:00:00Z")}},
		{Source: "reviews-rss", ID: "https://practices.example/reviews/9002", Organisation: "A81002",
			Link: "https://practices.example/reviews/9002", Published: at("2026-02-28T18:00:00Z"),
			Title: "No rating given", Comment: "Receptionist was helpful."},
	}
	if !reflect.DeepEqual(p.Items, want) {
		t.Errorf("items:\n got %+v\nwant %+v", p.Items, want)
	}
	checkRefused(t, p.Refused, map[int]string{3: "published date: missing"})
}

func TestParseJSONFeed(t *testing.T) {
	p := parseFile(t, feedback.FormatJSON, "feed.json")
	want := []feedback.Item{
		{Source: "reviews-json", ID: "op-1", Organisation: "RR8", Link: "https://ratings.example/op/1",
			Published: at("2026-03-01T10:15:00Z"), Rating: 4, Title: "Good physiotherapy", Comment: "Exercises helped a lot.",
			Response: feedback.Response{Text: "Glad to hear it.", Published: at("2026-03-03T11:00:00Z")}},
		{Source: "reviews-json", ID: "2", Organisation: "RX1", Link: "https://ratings.example/op/2",
			Published: at("2026-02-20T08:00:00Z"), Rating: 3, Comment: "Clean & quiet ward."},
	}
	if !reflect.DeepEqual(p.Items, want) {
		t.Errorf("items:\n got %+v\nwant %+v", p.Items, want)
	}
	checkRefused(t, p.Refused, map[int]string{3: "rating"})
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

func TestParseRefusesHostileDocuments(t *testing.T) {
	atomHead := `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id>`
	small := feedback.Limits{MaxBytes: 4096, MaxDepth: 16, MaxItems: 3}
	cases := []struct {
		name   string
		format feedback.Format
		body   string
		want   error
		reason string
	}{
		{"oversized", feedback.FormatAtom, atomHead + strings.Repeat("<title>padding</title>", 300) + `</entry></feed>`,
			feedback.ErrTooLarge, "more than 4096 bytes"},
		{"deep XML", feedback.FormatAtom, atomHead + nested("<x>", "</x>", 20) + `</entry></feed>`,
			feedback.ErrTooDeep, "16 elements deep"},
		{"deep xhtml content", feedback.FormatAtom, atomHead + `<content type="xhtml">` + nested("<div>", "</div>", 20) + `</content></entry></feed>`,
			feedback.ErrTooDeep, "16 elements deep"},
		{"deep RSS", feedback.FormatRSS, `<rss><channel><item>` + nested("<div>", "</div>", 15) + `</item></channel></rss>`,
			feedback.ErrTooDeep, "deep"},
		{"deep JSON", feedback.FormatJSON, `{"version":"https://jsonfeed.org/version/1.1","items":[{"x":` + nested("[", "]", 20) + `}]}`,
			feedback.ErrTooDeep, "16 objects or arrays deep"},
		{"invalid UTF-8", feedback.FormatAtom, atomHead + "<title>caf\xe9</title></entry></feed>",
			feedback.ErrEncoding, "not valid UTF-8"},
		{"UTF-16", feedback.FormatAtom, "\xff\xfe<\x00f\x00", feedback.ErrEncoding, "UTF-16"},
		{"declared Latin-1", feedback.FormatRSS, `<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel/></rss>`,
			feedback.ErrEncoding, `"ISO-8859-1"`},
		{"unclosed XML", feedback.FormatAtom, atomHead + `<title>oops</entry></feed>`, feedback.ErrMalformed, ""},
		{"RSS given for Atom", feedback.FormatAtom, `<rss version="2.0"><channel></channel></rss>`, feedback.ErrMalformed, "feed"},
		{"not XML at all", feedback.FormatRSS, `{"items": []}`, feedback.ErrMalformed, ""},
		{"RSS without channel", feedback.FormatRSS, `<rss version="2.0"></rss>`, feedback.ErrMalformed, "channel"},
		{"JSON that is not a feed", feedback.FormatJSON, `{"items": []}`, feedback.ErrMalformed, "not a JSON Feed"},
		{"JSON cut short", feedback.FormatJSON, `{"version":"https://jsonfeed.org/version/1.1","items":[`, feedback.ErrMalformed, ""},
		{"two JSON values", feedback.FormatJSON, `{"version":"https://jsonfeed.org/version/1.1","items":[]} {}`, feedback.ErrMalformed, "2 values"},
		{"empty", feedback.FormatJSON, ``, feedback.ErrMalformed, "empty"},
		{"entity expansion", feedback.FormatRSS, `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><rss><channel><item><title>&lol2;</title></item></channel></rss>`,
			feedback.ErrMalformed, "entity"},
		{"external entity", feedback.FormatAtom, `<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&xxe;</id></entry></feed>`,
			feedback.ErrMalformed, "entity"},
		{"too many items", feedback.FormatJSON, `{"version":"https://jsonfeed.org/version/1.1","items":[{},{},{},{}]}`,
			feedback.ErrTooManyItems, "4 entries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := source(c.format)
			_, err := feedback.Parse(src, strings.NewReader(c.body), small)
			var re *feedback.RefusedError
			if !errors.As(err, &re) || !errors.Is(err, c.want) {
				t.Fatalf("got %v, want a *RefusedError wrapping %v", err, c.want)
			}
			if re.Source != src.Name || !strings.Contains(err.Error(), src.Name) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q: want it to name source %s and say %q", err, src.Name, c.reason)
			}
		})
	}
}

// A reader that never ends: Parse must stop one byte past the limit.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestParseReadsNoMoreThanTheLimit(t *testing.T) {
	r := &endless{}
	_, err := feedback.Parse(source(feedback.FormatAtom), r, feedback.Limits{MaxBytes: 1000, MaxDepth: 8, MaxItems: 8})
	if !errors.Is(err, feedback.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if r.read > 1000+512 {
		t.Errorf("read %d bytes of an endless body with a limit of 1000", r.read)
	}
}

// TestParseEntryDetails: where the link back comes from when a feed has
// no link, that an entry without one is refused, and that control
// characters are dropped from text.
func TestParseEntryDetails(t *testing.T) {
	doc := `{"version": "https://jsonfeed.org/version/1.1", "items": [
		{"id": "https://ratings.example/op/7", "content_text": "Bell\u0007 rang\r\nall night.\u0000",
		 "date_published": "2026-03-01T10:00:00Z", "_feedback": {"organisation": "RR8", "rating": 2}},
		{"id": "op-8", "content_text": "No link.", "date_published": "2026-03-01T10:00:00Z",
		 "_feedback": {"organisation": "RR8", "rating": 2}}]}`
	p, err := feedback.Parse(source(feedback.FormatJSON), strings.NewReader(doc), feedback.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Link != "https://ratings.example/op/7" || p.Items[0].Comment != "Bell rang\nall night." {
		t.Errorf("items: %+v, want one linked by its id with control characters dropped", p.Items)
	}
	checkRefused(t, p.Refused, map[int]string{2: "link"})
}

// TestParseAtomTextConstructs: Atom text, html and xhtml content all
// become plain text.
func TestParseAtomTextConstructs(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"text", `<content type="text">Fish &amp; chips &lt;b&gt;</content>`, "Fish & chips <b>"},
		{"html", `<content type="html">&lt;p&gt;Fish &amp;amp; chips&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content>`, "Fish & chips"},
		{"html in CDATA", `<content type="html"><![CDATA[<p>One</p><p>Two<br/>Three</p>]]></content>`, "One\nTwo\nThree"},
		{"xhtml", `<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Kind <em>and</em> quick.</p></div></content>`, "Kind and quick."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:fb="` + feedback.Namespace + `"><entry><id>https://x.example/1</id>` +
				`<published>2026-03-01T10:00:00Z</published><fb:organisation>RR8</fb:organisation>` + c.content + `</entry></feed>`
			p, err := feedback.Parse(source(feedback.FormatAtom), strings.NewReader(doc), feedback.DefaultLimits)
			if err != nil || len(p.Items) != 1 {
				t.Fatalf("got %+v, %v", p, err)
			}
			if p.Items[0].Comment != c.want {
				t.Errorf("comment %q, want %q", p.Items[0].Comment, c.want)
			}
		})
	}
}
