package site

import (
	"testing"
	"time"
)

func TestPeriodAge(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ start, label, want string }{
		{"2014-01-01", "", "from January 2014, 12 years old"},
		{"2025-12-01", "", "from December 2025, 1 year old"},
		{"2025-12-05", "", ""}, // a day short of a year
		{"2026-01-01", "", ""},
		{"", "Rolling twelve months, published January 2014", "from January 2014, 12 years old"},
		{"", "April 2018 to March 2019", "from March 2019, 7 years old"},
		{"", "2024/25", ""},
		{"2026-13-01", "", ""},
	} {
		if got := periodAge(c.start, c.label, now); got != c.want {
			t.Errorf("periodAge(%q, %q) = %q, want %q", c.start, c.label, got, c.want)
		}
	}
}
