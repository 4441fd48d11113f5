package catalogue

import "testing"

func TestTitleCase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"THE DENSHAM SURGERY", "The Densham Surgery"},
		{"LEEDS TEACHING HOSPITALS NHS TRUST", "Leeds Teaching Hospitals NHS Trust"},
		{"ST. JAMES'S UNIVERSITY HOSPITAL", "St. James's University Hospital"},
		{"STOCKTON-ON-TEES", "Stockton-on-Tees"},
		{"HOUSE OF THE GP (PCN)", "House of the GP (PCN)"},
		{"Already Mixed case", "Already Mixed case"},
		{"1ST FLOOR, 2 HIGH STREET", "1st Floor, 2 High Street"},
		{"HMP DURHAM", "HMP Durham"},
		{"", ""},
	} {
		if got := TitleCase(c.in); got != c.want {
			t.Errorf("TitleCase(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
