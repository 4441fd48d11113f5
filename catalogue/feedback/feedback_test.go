package feedback_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

func TestSourceValidate(t *testing.T) {
	good := feedback.Source{Name: "care-opinion", Title: "Care Opinion", FeedURL: "https://example.org/feed",
		Format: feedback.FormatAtom, Interval: time.Hour, Homepage: "https://example.org/"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid source: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*feedback.Source)
		field string
	}{
		{"capital in name", func(s *feedback.Source) { s.Name = "Care" }, "source name"},
		{"no title", func(s *feedback.Source) { s.Title = " " }, "title"},
		{"ftp feed", func(s *feedback.Source) { s.FeedURL = "ftp://example.org/feed" }, "feed URL"},
		{"unknown format", func(s *feedback.Source) { s.Format = "csv" }, "format"},
		{"too frequent", func(s *feedback.Source) { s.Interval = time.Second }, "interval"},
		{"bad homepage", func(s *feedback.Source) { s.Homepage = "example.org" }, "homepage"},
	}
	for _, c := range cases {
		s := good
		c.edit(&s)
		if err := s.Validate(); !errors.Is(err, feedback.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: got %v, want ErrInvalid naming %q", c.name, err, c.field)
		}
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func item(comment string) feedback.Item {
	return feedback.Item{Source: "s", ID: "1", Organisation: "RR8", Published: t0, Rating: 4, Title: "T", Comment: comment}
}

func TestScreened(t *testing.T) {
	if got := feedback.Screened(item("fine")); got.State != feedback.StateVisible || got.Reason != "" {
		t.Errorf("clean comment: got %s %q, want visible", got.State, got.Reason)
	}
	if got := feedback.Screened(item("my NHS number is 943 476 5919")); got.State != feedback.StateHeld || got.Reason != feedback.ReasonNHSNumber {
		t.Errorf("NHS number: got %s %q, want held for an NHS number", got.State, got.Reason)
	}
	titled := item("fine")
	titled.Title = "email me at a@b.com"
	if got := feedback.Screened(titled); got.State != feedback.StateHeld {
		t.Errorf("email in title: got %s, want held", got.State)
	}
	responded := item("fine")
	responded.Response.Text = "Please ring PALS on 01642 617617."
	if got := feedback.Screened(responded); got.State != feedback.StateVisible {
		t.Errorf("phone number in the provider's response: got %s, want visible (responses are not screened)", got.State)
	}
}

func TestMerge(t *testing.T) {
	hidden := feedback.Item{State: feedback.StateHidden, Reason: "abusive", ModeratedBy: "ada", Title: "T", Comment: "old"}
	released := feedback.Item{State: feedback.StateVisible, Reason: "number is the ward's", ModeratedBy: "ada", Title: "T", Comment: "call 01642 617617"}
	held := feedback.Item{State: feedback.StateHeld, Reason: feedback.ReasonPhone, Title: "T", Comment: "call 01642 617617"}
	cases := []struct {
		name     string
		existing feedback.Item
		incoming feedback.Item
		want     feedback.State
		wantBy   string
	}{
		{"hidden stays hidden though the text changes", hidden, item("new text"), feedback.StateHidden, "ada"},
		{"released stays visible while its text is the same", released, item("call 01642 617617"), feedback.StateVisible, "ada"},
		{"released is held again when its text changes to more personal data", released, item("call 07700 900123"), feedback.StateHeld, ""},
		{"held stays held while its text is the same", held, item("call 01642 617617"), feedback.StateHeld, ""},
		{"held becomes visible when the personal data is edited out", held, item("call the ward"), feedback.StateVisible, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := feedback.Merge(c.existing, c.incoming)
			if got.State != c.want || got.ModeratedBy != c.wantBy {
				t.Errorf("got %s by %q, want %s by %q", got.State, got.ModeratedBy, c.want, c.wantBy)
			}
			if got.Comment != c.incoming.Comment {
				t.Errorf("comment %q, want the incoming %q", got.Comment, c.incoming.Comment)
			}
		})
	}
	withReply := item("call the ward")
	withReply.Response = feedback.Response{Text: "Thank you", Published: t0}
	if got := feedback.Merge(hidden, withReply); got.Response != withReply.Response || got.State != feedback.StateHidden {
		t.Errorf("a response arriving later: got %+v, want it attached and the item still hidden", got)
	}
}

func TestModerationApply(t *testing.T) {
	m := feedback.Moderation{Source: "s", ID: "1", Action: feedback.ActionRelease, Reason: "the number is the ward's", By: "ada", At: t0}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := m.Apply(feedback.Item{State: feedback.StateHeld})
	if err != nil || got.State != feedback.StateVisible || got.ModeratedBy != "ada" || got.Reason != m.Reason || !got.ModeratedAt.Equal(t0) {
		t.Errorf("release a held item: got %+v, %v", got, err)
	}
	if _, err := m.Apply(feedback.Item{State: feedback.StateHidden}); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("release a hidden item: got %v, want ErrInvalid", err)
	}
	hide := m
	hide.Action = feedback.ActionHide
	if got, err := hide.Apply(feedback.Item{State: feedback.StateVisible}); err != nil || got.State != feedback.StateHidden {
		t.Errorf("hide a visible item: got %s, %v", got.State, err)
	}
	for name, edit := range map[string]func(*feedback.Moderation){
		"no reason": func(m *feedback.Moderation) { m.Reason = "" },
		"no actor":  func(m *feedback.Moderation) { m.By = "" },
		"no action": func(m *feedback.Moderation) { m.Action = "delete" },
		"no item":   func(m *feedback.Moderation) { m.ID = "" },
		"no time":   func(m *feedback.Moderation) { m.At = time.Time{} },
	} {
		bad := m
		edit(&bad)
		if err := bad.Validate(); !errors.Is(err, feedback.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestDistributionMean(t *testing.T) {
	d := feedback.Distribution{Stars: [5]int{1, 0, 0, 0, 3}, Ratings: 4}
	if got := d.Mean(); got != 4 {
		t.Errorf("mean of 1,5,5,5 = %v, want 4", got)
	}
	if got := (feedback.Distribution{}).Mean(); got != 0 {
		t.Errorf("mean of none = %v, want 0", got)
	}
}
