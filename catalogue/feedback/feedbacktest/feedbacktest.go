// Package feedbacktest is the contract suite every feedback.Store
// implementation passes: keys and re-reading, screening, the public
// queries and moderation. An adapter's test calls Run with a function
// that opens an empty store.
//
// It owns no storage and must only be imported by tests.
package feedbacktest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) feedback.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, feedback.Store)
	}{
		{"Sources", testSources},
		{"UpsertNeverDuplicates", testUpsertNeverDuplicates},
		{"ResponseAttachesLater", testResponseAttachesLater},
		{"UpsertIsAllOrNothing", testUpsertIsAllOrNothing},
		{"PersonalDataHeld", testPersonalDataHeld},
		{"VisibleRecentFirst", testVisibleRecentFirst},
		{"Distributions", testDistributions},
		{"Hide", testHide},
		{"Release", testRelease},
		{"ModerationRefusals", testModerationRefusals},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// T0 is the instant the suite's items are published around.
var T0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Sources used by the suite.
var (
	SourceA = feedback.Source{Name: "care-stories", Title: "Care Stories", FeedURL: "https://stories.example/feed.atom",
		Format: feedback.FormatAtom, Interval: time.Hour, Homepage: "https://stories.example/"}
	SourceB = feedback.Source{Name: "rate-my-gp", Title: "Rate my GP", FeedURL: "https://rate.example/feed.json",
		Format: feedback.FormatJSON, Interval: 30 * time.Minute}
)

// Item returns a valid visible-to-be item of SourceA about RR8, published
// hours after T0.
func Item(id string, hours int, rating feedback.Rating, comment string) feedback.Item {
	return feedback.Item{Source: SourceA.Name, ID: id, Organisation: "RR8", Link: "https://stories.example/" + id,
		Published: T0.Add(time.Duration(hours) * time.Hour), Rating: rating, Title: "Story " + id, Comment: comment}
}

func ctx() context.Context { return context.Background() }

// ok returns v, failing the test when err is not nil.
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func putSources(t *testing.T, s feedback.Store) {
	t.Helper()
	for _, src := range []feedback.Source{SourceA, SourceB} {
		if err := s.PutSource(ctx(), src); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(items []feedback.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Source+"/"+it.ID)
	}
	return out
}

func testSources(t *testing.T, s feedback.Store) {
	putSources(t, s)
	changed := SourceB
	changed.Title, changed.Interval = "Rate My GP", 2*time.Hour
	if err := s.PutSource(ctx(), changed); err != nil {
		t.Fatal(err)
	}
	got := ok(s.Sources(ctx()))(t)
	if want := []feedback.Source{SourceA, changed}; !reflect.DeepEqual(got, want) {
		t.Errorf("sources:\n got %+v\nwant %+v", got, want)
	}
	bad := SourceA
	bad.Format = "csv"
	if err := s.PutSource(ctx(), bad); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("invalid source: got %v, want ErrInvalid", err)
	}
}

func testUpsertNeverDuplicates(t *testing.T, s feedback.Store) {
	putSources(t, s)
	items := []feedback.Item{Item("1", 0, 5, "Good."), Item("2", 1, 3, "Fine.")}
	if n := ok(s.Upsert(ctx(), items))(t); n != (feedback.Upserted{Added: 2}) {
		t.Errorf("first read: %+v, want 2 added", n)
	}
	if n := ok(s.Upsert(ctx(), items))(t); n != (feedback.Upserted{Unchanged: 2}) {
		t.Errorf("second read: %+v, want 2 unchanged", n)
	}
	// The same id from another source is another item.
	other := Item("1", 2, 4, "Other source.")
	other.Source = SourceB.Name
	if n := ok(s.Upsert(ctx(), []feedback.Item{other}))(t); n.Added != 1 {
		t.Errorf("same id, other source: %+v, want 1 added", n)
	}
	got := ids(ok(s.Visible(ctx(), "RR8", 10))(t))
	if want := []string{"rate-my-gp/1", "care-stories/2", "care-stories/1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("visible: got %v, want %v", got, want)
	}
	edited := Item("2", 1, 2, "Fine, but slow.")
	if n := ok(s.Upsert(ctx(), []feedback.Item{edited}))(t); n != (feedback.Upserted{Updated: 1}) {
		t.Errorf("edited: %+v, want 1 updated", n)
	}
	if it := ok(s.Item(ctx(), SourceA.Name, "2"))(t); it.Comment != edited.Comment || it.Rating != 2 {
		t.Errorf("edited item: got %q rated %d, want %q rated 2", it.Comment, it.Rating, edited.Comment)
	}
}

func testResponseAttachesLater(t *testing.T, s feedback.Store) {
	putSources(t, s)
	ok(s.Upsert(ctx(), []feedback.Item{Item("1", 0, 2, "Long wait.")}))(t)
	answered := Item("1", 0, 2, "Long wait.")
	answered.Response = feedback.Response{Text: "We are sorry; we have added a second triage nurse.", Published: T0.Add(48 * time.Hour)}
	if n := ok(s.Upsert(ctx(), []feedback.Item{answered}))(t); n != (feedback.Upserted{Updated: 1}) {
		t.Errorf("response added: %+v, want 1 updated", n)
	}
	got := ok(s.Visible(ctx(), "RR8", 10))(t)
	if len(got) != 1 || got[0].Response != answered.Response {
		t.Errorf("visible: got %+v, want one item with the response", got)
	}
}

func testUpsertIsAllOrNothing(t *testing.T, s feedback.Store) {
	putSources(t, s)
	stray := Item("2", 0, 1, "Unknown source.")
	stray.Source = "nobody"
	if _, err := s.Upsert(ctx(), []feedback.Item{Item("1", 0, 5, "Good."), stray}); !errors.Is(err, feedback.ErrNotFound) {
		t.Errorf("unknown source: got %v, want ErrNotFound", err)
	}
	bad := Item("3", 0, 5, "Good.")
	bad.Rating = 9
	if _, err := s.Upsert(ctx(), []feedback.Item{Item("1", 0, 5, "Good."), bad}); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("invalid rating: got %v, want ErrInvalid", err)
	}
	if got := ok(s.Visible(ctx(), "RR8", 10))(t); len(got) != 0 {
		t.Errorf("after refused batches: %v stored, want none", ids(got))
	}
}

func testPersonalDataHeld(t *testing.T, s feedback.Store) {
	putSources(t, s)
	items := []feedback.Item{
		Item("nhs", 0, 1, "My NHS number is 943 476 5919 and nobody called back."),
		Item("not-nhs", 1, 4, "Reference 943 476 5918 on my letter."), // wrong check digit
		Item("phone", 2, 2, "Ring me on 07700 900123."),
		Item("email", 3, 2, "jo@example.org wants a reply."),
	}
	if n := ok(s.Upsert(ctx(), items))(t); n.Added != 4 || n.Held != 3 {
		t.Errorf("upsert: %+v, want 4 added, 3 held", n)
	}
	if got := ids(ok(s.Visible(ctx(), "RR8", 10))(t)); !reflect.DeepEqual(got, []string{"care-stories/not-nhs"}) {
		t.Errorf("visible: got %v, want only the invalid check digit's item", got)
	}
	held := ok(s.Held(ctx(), 10))(t)
	if got := ids(held); !reflect.DeepEqual(got, []string{"care-stories/nhs", "care-stories/phone", "care-stories/email"}) {
		t.Errorf("held: got %v, want the three with personal data, oldest first", got)
	}
	if len(held) > 0 && held[0].Reason != feedback.ReasonNHSNumber {
		t.Errorf("held for %q, want %q", held[0].Reason, feedback.ReasonNHSNumber)
	}
	if d := ok(s.Distributions(ctx(), "RR8"))(t); len(d) != 1 || d[0].Ratings != 1 {
		t.Errorf("distribution counts held items: %+v", d)
	}
	// Read again, a held item stays held.
	if n := ok(s.Upsert(ctx(), items))(t); n.Unchanged != 4 {
		t.Errorf("re-read: %+v, want 4 unchanged", n)
	}
}

func testVisibleRecentFirst(t *testing.T, s feedback.Store) {
	putSources(t, s)
	elsewhere := Item("x", 5, 5, "Another trust.")
	elsewhere.Organisation = "RX1"
	tied := Item("b", 3, 4, "Same hour.")
	tiedB := Item("a", 3, 4, "Same hour, other source.")
	tiedB.Source = SourceB.Name
	ok(s.Upsert(ctx(), []feedback.Item{Item("old", 0, 3, "Old."), tied, tiedB, Item("new", 4, 5, "New."), elsewhere}))(t)
	got := ids(ok(s.Visible(ctx(), "RR8", 10))(t))
	want := []string{"care-stories/new", "care-stories/b", "rate-my-gp/a", "care-stories/old"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("visible: got %v, want %v", got, want)
	}
	if got := ids(ok(s.Visible(ctx(), "RR8", 2))(t)); !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("limit 2: got %v, want %v", got, want[:2])
	}
	if got := ok(s.Visible(ctx(), "A81001", 10))(t); len(got) != 0 {
		t.Errorf("organisation without items: got %v", ids(got))
	}
	first := ok(s.Visible(ctx(), "RR8", 1))(t)
	if len(first) != 1 || !reflect.DeepEqual(first[0], feedback.Screened(Item("new", 4, 5, "New."))) {
		t.Errorf("stored item differs from what was put:\n got %+v\nwant %+v", first, feedback.Screened(Item("new", 4, 5, "New.")))
	}
}

func testDistributions(t *testing.T, s feedback.Store) {
	putSources(t, s)
	var items []feedback.Item
	for i, r := range []feedback.Rating{5, 5, 4, 1, 0} {
		items = append(items, Item(fmt.Sprint("a", i), i, r, "Comment."))
	}
	b := Item("b1", 0, 3, "From B.")
	b.Source = SourceB.Name
	held := Item("held", 0, 5, "Email me: jo@example.org")
	elsewhere := Item("x", 0, 2, "Another trust.")
	elsewhere.Organisation = "RX1"
	hidden := Item("hidden", 0, 1, "Abusive.")
	ok(s.Upsert(ctx(), append(items, b, held, elsewhere, hidden)))(t)
	ok(s.Moderate(ctx(), feedback.Moderation{Source: SourceA.Name, ID: "hidden", Action: feedback.ActionHide,
		Reason: "abusive", By: "ada", At: T0}))(t)
	got := ok(s.Distributions(ctx(), "RR8"))(t)
	want := []feedback.Distribution{
		{Source: SourceA, Stars: [5]int{1, 0, 0, 1, 2}, Ratings: 4, Items: 5},
		{Source: SourceB, Stars: [5]int{0, 0, 1, 0, 0}, Ratings: 1, Items: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("distributions:\n got %+v\nwant %+v", got, want)
	}
	if got := ok(s.Distributions(ctx(), "A81001"))(t); len(got) != 0 {
		t.Errorf("organisation without items: got %+v, want none", got)
	}
}

func testHide(t *testing.T, s feedback.Store) {
	putSources(t, s)
	ok(s.Upsert(ctx(), []feedback.Item{Item("1", 0, 1, "Names a member of staff rudely.")}))(t)
	m := feedback.Moderation{Source: SourceA.Name, ID: "1", Action: feedback.ActionHide, Reason: "names a member of staff",
		By: "ada", At: T0.Add(time.Hour)}
	it := ok(s.Moderate(ctx(), m))(t)
	if it.State != feedback.StateHidden || it.Reason != m.Reason || it.ModeratedBy != "ada" || !it.ModeratedAt.Equal(m.At) {
		t.Errorf("hidden item: %+v", it)
	}
	if got := ok(s.Visible(ctx(), "RR8", 10))(t); len(got) != 0 {
		t.Errorf("hidden item still visible: %v", ids(got))
	}
	if got := ok(s.Moderations(ctx(), SourceA.Name, "1"))(t); !reflect.DeepEqual(got, []feedback.Moderation{m}) {
		t.Errorf("moderations: got %+v, want %+v", got, m)
	}
	// The source edits it and answers: it stays hidden.
	again := Item("1", 0, 1, "Edited text.")
	again.Response = feedback.Response{Text: "We are looking into this.", Published: T0.Add(2 * time.Hour)}
	ok(s.Upsert(ctx(), []feedback.Item{again}))(t)
	if it := ok(s.Item(ctx(), SourceA.Name, "1"))(t); it.State != feedback.StateHidden || it.Response != again.Response {
		t.Errorf("after re-read: %s with response %q, want hidden with the response", it.State, it.Response.Text)
	}
}

func testRelease(t *testing.T, s feedback.Store) {
	putSources(t, s)
	text := "The ward's number 01642 617617 was never answered."
	ok(s.Upsert(ctx(), []feedback.Item{Item("1", 0, 2, text)}))(t)
	m := feedback.Moderation{Source: SourceA.Name, ID: "1", Action: feedback.ActionRelease,
		Reason: "the number is the hospital's switchboard, not the patient's", By: "ada", At: T0.Add(time.Hour)}
	if it := ok(s.Moderate(ctx(), m))(t); it.State != feedback.StateVisible {
		t.Errorf("released item is %s", it.State)
	}
	ok(s.Upsert(ctx(), []feedback.Item{Item("1", 0, 2, text)}))(t)
	got := ok(s.Visible(ctx(), "RR8", 10))(t)
	if len(got) != 1 || got[0].ModeratedBy != "ada" {
		t.Errorf("after re-read: visible %+v, want the released item still visible", got)
	}
	if got := ok(s.Held(ctx(), 10))(t); len(got) != 0 {
		t.Errorf("still held: %v", ids(got))
	}
}

func testModerationRefusals(t *testing.T, s feedback.Store) {
	putSources(t, s)
	ok(s.Upsert(ctx(), []feedback.Item{Item("1", 0, 4, "Fine.")}))(t)
	base := feedback.Moderation{Source: SourceA.Name, ID: "1", Action: feedback.ActionRelease, Reason: "ok", By: "ada", At: T0}
	if _, err := s.Moderate(ctx(), base); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("release a visible item: got %v, want ErrInvalid", err)
	}
	missing := base
	missing.ID, missing.Action = "nope", feedback.ActionHide
	if _, err := s.Moderate(ctx(), missing); !errors.Is(err, feedback.ErrNotFound) {
		t.Errorf("hide a missing item: got %v, want ErrNotFound", err)
	}
	noReason := base
	noReason.Action, noReason.Reason = feedback.ActionHide, " "
	if _, err := s.Moderate(ctx(), noReason); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("hide without a reason: got %v, want ErrInvalid", err)
	}
	if got := ok(s.Moderations(ctx(), SourceA.Name, "1"))(t); len(got) != 0 {
		t.Errorf("refused moderations were recorded: %+v", got)
	}
	if it := ok(s.Item(ctx(), SourceA.Name, "1"))(t); it.State != feedback.StateVisible {
		t.Errorf("after refusals the item is %s, want visible", it.State)
	}
	if _, err := s.Item(ctx(), SourceA.Name, "nope"); !errors.Is(err, feedback.ErrNotFound) {
		t.Errorf("missing item: got %v, want ErrNotFound", err)
	}
}
