package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/publisher/feedbackpoll"
)

// The demo's pooled patient feedback is synthetic: no real feedback
// service can be reached from here, and a real service's stories would be
// patients' own words. The demo writes two generated Atom feeds into the
// data folder (DATA/demo-feedback/), as a feedback service would publish
// them, and reads each once through the same path as a polled source:
// feedbackpoll.Poller.RunOnce, with an HTTP client whose transport serves
// that folder instead of the network, so the feeds are parsed, matched to
// the directory, screened for personal data and stored exactly as a live
// feed's would be. The sources' titles say they are synthetic, and their
// addresses are under .example (RFC 2606), which never resolves. Items
// are dated in the days before the demo is loaded. One story carries an
// NHS number (a test number with a valid check digit), so the moderation
// queue has an item held for an administrator.

// demoFeedbackDir is where the demo writes its feeds, in the data folder.
const demoFeedbackDir = "demo-feedback"

// demoFeedbackSources are the demo's synthetic feedback services.
var demoFeedbackSources = []feedback.Source{
	{Name: "synthetic-patient-stories", Title: "Patient Stories (synthetic demonstration feed)",
		FeedURL: "https://patient-stories.example/patient-stories.atom", Format: feedback.FormatAtom, Interval: time.Hour,
		Homepage: "https://patient-stories.example/"},
	{Name: "synthetic-care-reviews", Title: "Care Reviews (synthetic demonstration feed)",
		FeedURL: "https://care-reviews.example/care-reviews.atom", Format: feedback.FormatAtom, Interval: time.Hour,
		Homepage: "https://care-reviews.example/"},
}

// demoStory is one generated feedback item.
type demoStory struct {
	org      string
	daysAgo  int
	rating   int // 0: none
	title    string
	comment  string
	response string // the provider's reply, "" for none
}

// demoStories are each source's items (by source name).
var demoStories = map[string][]demoStory{
	"synthetic-patient-stories": {
		{"RR8", 2, 5, "Kind staff on the ward", "The nurses explained every step of my treatment and checked on me through the night.", "Thank you for taking the time to tell us. We have shared your kind words with the ward team."},
		{"RR8", 5, 4, "Good care, long wait for discharge", "Treatment was excellent but I waited most of the day for my medicines before I could go home.", "We are sorry about the wait. Our pharmacy team is trialling earlier prescribing for patients due home."},
		{"RR8", 9, 2, "Cancelled twice", "My operation was cancelled on the day twice. Nobody could tell me when it would be rearranged.", ""},
		{"RR8", 12, 5, "", "Quick and friendly service in the eye clinic.", ""},
		{"RR8", 16, 3, "Busy emergency department", "Staff were doing their best but it was very crowded and I waited five hours.", "Thank you for your feedback. We know waits have been long and we are opening more assessment space this winter."},
		{"RR8", 21, 4, "Clear explanations", "The consultant took time to answer all of our questions.", ""},
		{"RR8", 27, 1, "Lost letter", "My follow-up letter went to an old address and I missed my appointment.", ""},
		{"RR8", 33, 0, "Parking", "Finding a parking space took longer than the appointment.", ""},
		{"RR8", 3, 2, "Please call me back", "I was promised a call about my results and nobody has rung. My NHS number is 943 476 5919 if someone can look into it.", ""},
		{"RX1", 4, 4, "Maternity team were wonderful", "Calm and reassuring from start to finish.", "Congratulations, and thank you for letting us know."},
		{"RX1", 11, 2, "Hard to get through on the phone", "I rang the clinic for three days before anyone answered.", ""},
		{"RA2", 7, 5, "Day surgery", "Well organised: in and out the same day as planned.", ""},
	},
	"synthetic-care-reviews": {
		{"A81001", 1, 5, "Easy to book", "Got an appointment the same week using the online form.", "Thank you. We are glad the online form is working well for you."},
		{"A81001", 6, 4, "Helpful receptionist", "Sorted out my repeat prescription quickly.", ""},
		{"A81001", 10, 2, "Phone queue at 8am", "Twenty minutes on hold to be told there were no appointments left.", "We are sorry. We have added more staff to the phones first thing and now offer call-backs."},
		{"A81001", 15, 5, "", "Lovely nurse at my asthma review.", ""},
		{"A81001", 24, 3, "Running late", "Seen forty minutes after my appointment time, but the doctor was thorough.", ""},
		{"RR8", 8, 4, "Outpatients", "Clinic ran on time and the letter afterwards was clear.", ""},
		{"RR8", 14, 3, "Mixed experience", "Great doctors, but the food on the ward was poor.", ""},
		{"RR8", 19, 5, "Children's ward", "They made my son feel at ease.", "Thank you — we will pass this on to the team on the children's ward."},
	},
}

// atomFeed is the little of Atom the demo writes.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	FB      string      `xml:"xmlns:fb,attr"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Entries []atomEntry `xml:"entry"`
}

type atomEntry struct {
	ID           string        `xml:"id"`
	Title        string        `xml:"title,omitempty"`
	Link         atomLink      `xml:"link"`
	Published    string        `xml:"published"`
	Content      string        `xml:"content,omitempty"`
	Organisation string        `xml:"fb:organisation"`
	Rating       int           `xml:"fb:rating,omitempty"`
	Response     *atomResponse `xml:"fb:response,omitempty"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

type atomResponse struct {
	Published string `xml:"published,attr"`
	Text      string `xml:",chardata"`
}

// writeDemoFeed writes one source's generated Atom feed to w; items are
// dated days before now.
func writeDemoFeed(w io.Writer, src feedback.Source, now time.Time) error {
	day := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC)
	if day.After(now) {
		day = day.AddDate(0, 0, -1)
	}
	f := atomFeed{FB: feedback.Namespace, Title: src.Title, ID: src.Homepage, Updated: now.UTC().Format(time.RFC3339)}
	for i, s := range demoStories[src.Name] {
		published := day.AddDate(0, 0, -s.daysAgo).Add(time.Duration(i) * time.Minute)
		link := fmt.Sprintf("%sstories/%d", src.Homepage, 1001+i)
		e := atomEntry{ID: link, Title: s.title, Link: atomLink{Rel: "alternate", Href: link}, Published: published.Format(time.RFC3339),
			Content: s.comment, Organisation: s.org, Rating: s.rating}
		if s.response != "" {
			e.Response = &atomResponse{Published: published.Add(20 * time.Hour).Format(time.RFC3339), Text: s.response}
		}
		f.Entries = append(f.Entries, e)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return err
	}
	return enc.Close()
}

// loadDemoFeedback writes the demo's feeds into the data folder and reads
// each once, as the poller reads a live source.
func loadDemoFeedback(ctx context.Context, a *app, stdout io.Writer) error {
	dir := filepath.Join(a.cfg.DataDir, demoFeedbackDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	now := a.now()
	for _, src := range demoFeedbackSources {
		f, err := os.Create(filepath.Join(dir, filepath.Base(src.FeedURL)))
		if err != nil {
			return err
		}
		err = writeDemoFeed(f, src, now)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("demo feedback feed %s: %w", src.Name, err)
		}
	}
	// The transport serves the folder: a feed's address is looked up by
	// its path, whatever its host.
	client := &http.Client{Transport: http.NewFileTransport(http.Dir(dir))}
	p, err := feedbackpoll.New(a.feedback, a.catalogue, demoFeedbackSources, feedbackpoll.Config{Client: client, Now: a.now, Logger: a.log})
	if err != nil {
		return err
	}
	results, err := p.RunOnce(ctx)
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("demo feedback: %w", r.Err)
		}
		fmt.Fprintf(stdout, "Read %d synthetic feedback items from %s (%d held for moderation, %d refused).\n",
			r.Upserted.Added+r.Upserted.Updated+r.Upserted.Unchanged, r.Source, r.Upserted.Held, len(r.Refused))
	}
	return nil
}
