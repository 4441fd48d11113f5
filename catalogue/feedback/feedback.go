// Package feedback owns pooled patient feedback: the external feedback
// services Candour reads (sources), the ratings and comments it takes from
// their feeds (items), how a feed is parsed and refused, which comments are
// held for moderation because they seem to carry personal data, and the
// store interface that keeps them.
//
// # The model
//
// A [Source] is an independent feedback service with a feed (Atom, RSS 2.0
// or JSON Feed, see below), polled on its own interval. An [Item] is one
// patient's rating and comment about one organisation, named by the
// source's own item id: the pair (source, item id) is its key, so reading a
// feed again updates items rather than duplicating them, and a provider's
// response that appears later attaches to the item it answers.
//
// Every item is in one [State]:
//
//   - visible: shown on the organisation's scorecard and counted in its
//     rating distribution;
//   - held: not shown, waiting for a moderator, because its title or
//     comment seems to contain an NHS number (ten digits with a valid
//     modulus 11 check digit), a UK telephone number or an email address
//     ([Screen]); a moderator releases it or hides it;
//   - hidden: not shown, hidden by a moderator with a recorded reason.
//
// Provider responses are not screened: they are the organisation's own
// published words, and routinely give a switchboard number or an address
// to write to. Reading a feed again never undoes a moderator's decision:
// a hidden item stays hidden, a released item stays visible unless its
// title or comment changes, and changed text is screened afresh ([Merge]).
// Only visible items are counted in a rating distribution, so the number
// of ratings a page gives always matches what it shows.
//
// # Where each field comes from
//
// Atom (RFC 4287) and RSS 2.0 entries carry the ordinary elements plus a
// few elements in the namespace [Namespace] (prefix "fb" below), since
// neither format has a place for a rating or an organisation code:
//
//	field          Atom                                  RSS 2.0                         JSON Feed 1.1
//	item id        <id>                                  <guid>, else <link>             id
//	link back      <link rel="alternate" href>, or       <link>, else a <guid> that      url, else an id that is
//	               the first <link> without rel, else    is an http(s) address           an http(s) address
//	               an <id> that is an http(s) address
//	published      <published>, else <updated>           <pubDate> (RFC 1123)            date_published, else date_modified
//	title          <title>                               <title>                         title
//	comment        <content>, else <summary>             <description>                   content_text, else content_html
//	organisation   <fb:organisation>ODS code</…>, else   as Atom, or <category           _feedback.organisation
//	               <category scheme=SchemeODS term=…>    domain=SchemeODS>code</…>
//	rating         <fb:rating>1–5</fb:rating>, else      as Atom, or <category           _feedback.rating (a number)
//	               <category scheme=SchemeRating         domain=SchemeRating>4</…>
//	               term="4">
//	response       <fb:response published="RFC 3339">   as Atom (published in RFC 3339  _feedback.response.text and
//	               text</fb:response>                    or RFC 1123)                    _feedback.response.date_published
//
// This follows what review services such as Care Opinion and the NHS
// website's former comments syndication carried: a story or review with a
// title, text, a date, a link to the original, the services it is about by
// their organisation code, an optional star rating, and the provider's
// published response. HTML content (Atom type="html" or "xhtml", RSS
// descriptions, content_html) is reduced to plain text: tags are dropped
// and entities decoded; control characters other than tab and new line
// are dropped. Author names (Atom author, RSS author, JSON Feed authors)
// are never read: a patient's name is personal data, and the link back
// leads to whatever the source itself chose to show. An entry without an id, link, organisation or date, or
// with a rating outside 1–5, is refused on its own ([Refusal]) and the
// rest of the feed is still read.
//
// # Hostile input
//
// [Parse] refuses a whole document, with a [*RefusedError] naming the
// source and the reason, when it is larger than [Limits].MaxBytes (read
// through an io.LimitReader, so no more than one byte past the limit is
// ever read), nested deeper than MaxDepth elements, objects or arrays,
// holds more than MaxItems entries, is not valid UTF-8 or declares another
// encoding, or does not parse as the source's format. XML entities other
// than the five predefined ones are refused, so a document type
// declaration can neither expand text nor reach a file.
//
// # What it must not do
//
// It fetches nothing (publisher/feedbackpoll polls the feeds), decides no
// matching to organisations (the poller asks the catalogue), renders
// nothing, and imports no Candour package but catalogue, whose error
// values it shares so that one error handler maps them. Storage is behind
// [Store]; the SQLite adapter is subpackage feedbacksqlite, wired in by
// cmd, and feedbacktest is the contract suite every adapter passes.
package feedback

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candour/candour/catalogue"
)

// Errors returned by stores: catalogue's, so the one error handler maps
// them. Test with errors.Is.
var (
	ErrNotFound = catalogue.ErrNotFound
	ErrConflict = catalogue.ErrConflict
	ErrInvalid  = catalogue.ErrInvalid
)

// Namespace is the XML namespace of the extension elements Atom and RSS
// feeds carry (organisation, rating, response).
const Namespace = "https://github.com/candour/candour/ns/feedback/1"

// Category schemes an Atom category's scheme (or an RSS category's domain)
// may use instead of the extension elements.
const (
	SchemeODS    = "https://digital.nhs.uk/services/organisation-data-service"
	SchemeRating = Namespace + "#rating"
)

// Format is a feed's format.
type Format string

// Feed formats.
const (
	FormatAtom Format = "atom"
	FormatRSS  Format = "rss"
	FormatJSON Format = "json" // JSON Feed 1.1 with a _feedback extension
)

// Valid reports whether f is a known format.
func (f Format) Valid() bool {
	return f == FormatAtom || f == FormatRSS || f == FormatJSON
}

// Source is an external feedback service whose feed Candour polls.
type Source struct {
	// Name is the source's short name, its key: lower-case letters,
	// digits and hyphens, e.g. "care-opinion".
	Name string
	// Title is the service's public name, for attribution.
	Title string
	// FeedURL is the feed's http or https address.
	FeedURL string
	Format  Format
	// Interval is how often the feed is polled (at least a minute).
	Interval time.Duration
	// Homepage is the service's public address, linked beside its items.
	Homepage string
}

// MinInterval is the shortest polling interval a source may have.
const MinInterval = time.Minute

// Validate reports the first field of s that breaks a rule, as ErrInvalid.
func (s Source) Validate() error {
	switch {
	case !validName(s.Name):
		return invalid("source name", "%q: use lower-case letters, digits and hyphens", s.Name)
	case strings.TrimSpace(s.Title) == "":
		return invalid("source "+s.Name+" title", "required")
	case !validHTTPURL(s.FeedURL):
		return invalid("source "+s.Name+" feed URL", "%q is not an http or https address", s.FeedURL)
	case !s.Format.Valid():
		return invalid("source "+s.Name+" format", "%q: want atom, rss or json", s.Format)
	case s.Interval < MinInterval:
		return invalid("source "+s.Name+" interval", "%s is shorter than %s", s.Interval, MinInterval)
	case s.Homepage != "" && !validHTTPURL(s.Homepage):
		return invalid("source "+s.Name+" homepage", "%q is not an http or https address", s.Homepage)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

func validName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// State is an item's moderation state.
type State string

// Item states.
const (
	StateVisible State = "visible"
	StateHeld    State = "held"
	StateHidden  State = "hidden"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	return s == StateVisible || s == StateHeld || s == StateHidden
}

// Rating is a star rating from 1 to 5; 0 means the item has none.
type Rating int

// Valid reports whether r is none or 1–5.
func (r Rating) Valid() bool { return r >= 0 && r <= 5 }

// Response is the provider's published response to an item. The zero
// Response means none.
type Response struct {
	Text      string
	Published time.Time
}

// Present reports whether there is a response.
func (r Response) Present() bool { return r.Text != "" }

// Limits on the lengths of an item's texts, in characters.
const (
	MaxTitle   = 500
	MaxComment = 20000
	MaxID      = 500
)

// Item is one patient's rating and comment about one organisation, as a
// source published it.
type Item struct {
	Source string // the Source's Name
	// ID is the source's own id for the item; (Source, ID) is the key.
	ID string
	// Organisation is the ODS code of the organisation it is about.
	Organisation string
	// Link is the item's address on the source's site (the link back);
	// every item has one.
	Link      string
	Published time.Time
	Rating    Rating
	Title     string
	Comment   string
	Response  Response

	State State
	// Reason says why an item is held or hidden ("" when visible).
	Reason string
	// ModeratedBy and ModeratedAt record the last moderator's decision
	// (empty when none).
	ModeratedBy string
	ModeratedAt time.Time
}

// Validate reports the first field of it that breaks a rule, as
// ErrInvalid. It does not check State (stores set it through Merge).
func (it Item) Validate() error {
	switch {
	case it.Source == "":
		return invalid("item source", "required")
	case strings.TrimSpace(it.ID) == "" || utf8.RuneCountInString(it.ID) > MaxID:
		return invalid("item id", "required, at most %d characters", MaxID)
	case !validCode(it.Organisation):
		return invalid("item "+it.ID+" organisation", "%q is not an organisation code", it.Organisation)
	case !validHTTPURL(it.Link):
		return invalid("item "+it.ID+" link", "%q is not an http or https address (every item links back to its source)", it.Link)
	case it.Published.IsZero():
		return invalid("item "+it.ID+" published", "required")
	case !it.Rating.Valid():
		return invalid("item "+it.ID+" rating", "%d is not 1 to 5", it.Rating)
	case utf8.RuneCountInString(it.Title) > MaxTitle:
		return invalid("item "+it.ID+" title", "longer than %d characters", MaxTitle)
	case utf8.RuneCountInString(it.Comment) > MaxComment:
		return invalid("item "+it.ID+" comment", "longer than %d characters", MaxComment)
	case utf8.RuneCountInString(it.Response.Text) > MaxComment:
		return invalid("item "+it.ID+" response", "longer than %d characters", MaxComment)
	case strings.TrimSpace(it.Title) == "" && strings.TrimSpace(it.Comment) == "" && it.Rating == 0:
		return invalid("item "+it.ID, "has no title, comment or rating")
	}
	return nil
}

// validCode accepts organisation codes as the directory writes them:
// letters and digits, with hyphens for codes outside ODS, up to 12.
func validCode(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Screened returns it with the state a newly read item takes: held, with
// the reason, when its title or comment seems to carry personal data;
// visible otherwise. Moderation fields are cleared.
func Screened(it Item) Item {
	it.State, it.Reason = StateVisible, ""
	it.ModeratedBy, it.ModeratedAt = "", time.Time{}
	if reason, found := Screen(it.Title + "\n" + it.Comment); found {
		it.State, it.Reason = StateHeld, reason
	}
	return it
}

// Merge returns what the store keeps when a feed brings incoming for an
// item it already holds as existing. The source's fields come from
// incoming. The state is the moderator's when one decided and the text
// they judged has not changed; a hidden item stays hidden whatever
// changes; otherwise the text is screened afresh.
func Merge(existing, incoming Item) Item {
	out := Screened(incoming)
	if existing.State == StateHidden {
		return keepModeration(out, existing)
	}
	if existing.Title == incoming.Title && existing.Comment == incoming.Comment {
		return keepModeration(out, existing)
	}
	return out
}

func keepModeration(out, existing Item) Item {
	out.State, out.Reason = existing.State, existing.Reason
	out.ModeratedBy, out.ModeratedAt = existing.ModeratedBy, existing.ModeratedAt
	return out
}
