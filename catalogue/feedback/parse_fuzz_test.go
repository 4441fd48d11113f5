package feedback_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue/feedback"
)

// FuzzParse: whatever a feed holds, Parse neither panics nor reads past
// its limits, refuses a whole document only with a *RefusedError, and
// hands over only items that validate, once each.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"atom.xml", "rss.xml", "feed.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), b)
		f.Add(uint8(1), b)
		f.Add(uint8(2), b)
	}
	f.Add(uint8(0), []byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml"><div><p>x</p></div></content></entry></feed>`))
	f.Add(uint8(2), []byte(`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":1,"_feedback":{"rating":"5"}}]}`))
	formats := []feedback.Format{feedback.FormatAtom, feedback.FormatRSS, feedback.FormatJSON}
	lim := feedback.Limits{MaxBytes: 64 << 10, MaxDepth: 16, MaxItems: 50}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		src := source(formats[int(which)%len(formats)])
		p, err := feedback.Parse(src, strings.NewReader(string(body)), lim)
		if err != nil {
			var re *feedback.RefusedError
			if !errors.As(err, &re) || re.Source != src.Name {
				t.Fatalf("error %v is not a refusal of source %s", err, src.Name)
			}
			return
		}
		if len(p.Items)+len(p.Refused) > lim.MaxItems {
			t.Fatalf("%d items and %d refusals, limit %d", len(p.Items), len(p.Refused), lim.MaxItems)
		}
		seen := map[string]bool{}
		for _, it := range p.Items {
			if err := it.Validate(); err != nil {
				t.Fatalf("item %+v does not validate: %v", it, err)
			}
			if seen[it.ID] || it.Source != src.Name {
				t.Fatalf("item %q repeated or of another source (%s)", it.ID, it.Source)
			}
			seen[it.ID] = true
		}
	})
}
