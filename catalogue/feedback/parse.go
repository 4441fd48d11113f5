package feedback

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits bound what Parse reads of one document.
type Limits struct {
	// MaxBytes is the largest document read; a larger one is refused
	// having read MaxBytes+1 bytes.
	MaxBytes int64
	// MaxDepth is the deepest nesting of XML elements, or of JSON objects
	// and arrays, read.
	MaxDepth int
	// MaxItems is the most entries one document may hold.
	MaxItems int
}

// DefaultLimits suit review feeds: a real feed of a few hundred entries
// is well under a megabyte and nested six deep.
var DefaultLimits = Limits{MaxBytes: 4 << 20, MaxDepth: 32, MaxItems: 5000}

// Why a whole document is refused; a *RefusedError wraps one of them.
var (
	ErrTooLarge     = errors.New("the document is larger than the limit")
	ErrTooDeep      = errors.New("the document is nested deeper than the limit")
	ErrTooManyItems = errors.New("the document holds more entries than the limit")
	ErrEncoding     = errors.New("the document is not UTF-8")
	ErrMalformed    = errors.New("the document does not parse")
)

// RefusedError is a whole document refused: it names the source and says
// why. Err is one of the Err… values above, wrapping any parser error.
type RefusedError struct {
	Source string
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("feedback source %s: feed refused: %v", e.Source, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refused(source string, kind error, format string, args ...any) error {
	if format == "" {
		return &RefusedError{Source: source, Err: kind}
	}
	return &RefusedError{Source: source, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

// Refusal is one entry refused while the rest of its document was read.
type Refusal struct {
	Source string
	// Position is the entry's place in the document, from 1.
	Position int
	// ID is the entry's id, when it has one.
	ID     string
	Reason string
}

func (r Refusal) String() string {
	if r.ID == "" {
		return fmt.Sprintf("feedback source %s: entry %d refused: %s", r.Source, r.Position, r.Reason)
	}
	return fmt.Sprintf("feedback source %s: entry %d (%s) refused: %s", r.Source, r.Position, r.ID, r.Reason)
}

// Parsed is what Parse read of a document.
type Parsed struct {
	// Items are the entries read, in document order, with State unset:
	// stores screen them.
	Items   []Item
	Refused []Refusal
}

// Parse reads one document of src's format from r, within lim. A document
// refused as a whole gives a *RefusedError; entries refused one by one are
// listed in Parsed.Refused. Items are not matched to organisations.
func Parse(src Source, r io.Reader, lim Limits) (Parsed, error) {
	body, err := readLimited(src.Name, r, lim.MaxBytes)
	if err != nil {
		return Parsed{}, err
	}
	if body, err = checkUTF8(src.Name, body); err != nil {
		return Parsed{}, err
	}
	var entries []entry
	switch src.Format {
	case FormatAtom:
		entries, err = parseAtom(src.Name, body, lim)
	case FormatRSS:
		entries, err = parseRSS(src.Name, body, lim)
	case FormatJSON:
		entries, err = parseJSON(src.Name, body, lim)
	default:
		return Parsed{}, refused(src.Name, ErrMalformed, "unknown format %q", src.Format)
	}
	if err != nil {
		return Parsed{}, err
	}
	if len(entries) > lim.MaxItems {
		return Parsed{}, refused(src.Name, ErrTooManyItems, "%d entries, limit %d", len(entries), lim.MaxItems)
	}
	return toItems(src.Name, entries), nil
}

func readLimited(source string, r io.Reader, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("feedback source %s: read feed: %w", source, err)
	}
	if int64(len(body)) > max {
		return nil, refused(source, ErrTooLarge, "more than %d bytes", max)
	}
	return body, nil
}

var (
	bomUTF8  = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16 = [][]byte{{0xFE, 0xFF}, {0xFF, 0xFE}}
)

// checkUTF8 drops a UTF-8 byte-order mark and refuses anything else that
// is not UTF-8.
func checkUTF8(source string, body []byte) ([]byte, error) {
	for _, bom := range bomUTF16 {
		if bytes.HasPrefix(body, bom) {
			return nil, refused(source, ErrEncoding, "it starts with a UTF-16 byte-order mark")
		}
	}
	body = bytes.TrimPrefix(body, bomUTF8)
	if !utf8.Valid(body) {
		return nil, refused(source, ErrEncoding, "it holds bytes that are not valid UTF-8 (at byte %d)", firstInvalid(body))
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return nil, refused(source, ErrEncoding, "it holds a NUL byte")
	}
	return body, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// entry is one document entry before it becomes an Item.
type entry struct {
	id, link, published, title, comment string
	organisation, rating                string
	response, responded                 string
}

func toItems(source string, entries []entry) Parsed {
	var out Parsed
	seen := map[string]bool{}
	for i, e := range entries {
		it, err := e.item(source)
		if err == nil && seen[it.ID] {
			err = errors.New("the id is repeated earlier in the document")
		}
		if err != nil {
			out.Refused = append(out.Refused, Refusal{Source: source, Position: i + 1, ID: strings.TrimSpace(e.id), Reason: err.Error()})
			continue
		}
		seen[it.ID] = true
		out.Items = append(out.Items, it)
	}
	return out
}

func (e entry) item(source string) (Item, error) {
	it := Item{
		Source:       source,
		ID:           strings.TrimSpace(e.id),
		Organisation: strings.ToUpper(strings.TrimSpace(e.organisation)),
		Link:         strings.TrimSpace(e.link),
		Title:        cleanText(e.title),
		Comment:      cleanText(e.comment),
	}
	if it.Link == "" && validHTTPURL(it.ID) {
		it.Link = it.ID // an Atom id or RSS guid that is the item's address
	}
	var err error
	if it.Published, err = parseInstant(e.published); err != nil {
		return it, fmt.Errorf("published date: %w", err)
	}
	if it.Rating, err = parseRating(e.rating); err != nil {
		return it, err
	}
	if text := cleanText(e.response); text != "" {
		it.Response.Text = text
		if strings.TrimSpace(e.responded) != "" {
			if it.Response.Published, err = parseInstant(e.responded); err != nil {
				return it, fmt.Errorf("response date: %w", err)
			}
		}
	}
	if it.Organisation == "" {
		return it, errors.New("no organisation code")
	}
	if err := it.Validate(); err != nil {
		return it, err
	}
	return it, nil
}

var instantLayouts = []string{
	time.RFC3339Nano, time.RFC1123Z, time.RFC1123,
	"Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700", time.DateOnly,
}

func parseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	for _, layout := range instantLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor RFC 1123", s)
}

func parseRating(s string) (Rating, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if len(s) == 1 && s[0] >= '1' && s[0] <= '5' {
		return Rating(s[0] - '0'), nil
	}
	return 0, fmt.Errorf("rating %q is not a whole number from 1 to 5", s)
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(?:script|style)\b.*?</(?:script|style)\s*>`)
	lineBreakTag  = regexp.MustCompile(`(?i)<br\s*/?>|</p\s*>|</li\s*>`)
	anyTag        = regexp.MustCompile(`<[^>]*>`)
	blankLines    = regexp.MustCompile(`\n[ \t]*(?:\n[ \t]*)+`)
)

// htmlToText reduces HTML to plain text: scripts and styles removed,
// paragraphs and line breaks kept as new lines, other tags dropped,
// entities decoded.
func htmlToText(s string) string {
	s = scriptOrStyle.ReplaceAllString(s, "")
	s = lineBreakTag.ReplaceAllString(s, "\n")
	s = anyTag.ReplaceAllString(s, "")
	return tidyLines(html.UnescapeString(s))
}

// tidyLines turns runs of blank lines into one and trims the ends.
func tidyLines(s string) string {
	return strings.TrimSpace(blankLines.ReplaceAllString(s, "\n\n"))
}

// cleanText trims text and drops control characters other than tab and
// new line (a JSON string may carry any of them, escaped).
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
