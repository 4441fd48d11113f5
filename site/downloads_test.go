package site

import "testing"

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		header            string
		size              int64
		want              byteRange
		ok, unsatisfiable bool
	}{
		{"bytes=0-99", 1000, byteRange{0, 100}, true, false},
		{"bytes=900-", 1000, byteRange{900, 100}, true, false},
		{"bytes=-100", 1000, byteRange{900, 100}, true, false},
		{"bytes=-5000", 1000, byteRange{0, 1000}, true, false},
		{"bytes=990-2000", 1000, byteRange{990, 10}, true, false},
		{"bytes=1000-", 1000, byteRange{}, false, true},
		{"bytes=-0", 1000, byteRange{}, false, true},
		{"bytes=5-1", 1000, byteRange{}, false, false},
		{"bytes=0-1,5-9", 1000, byteRange{}, false, false},
		{"items=0-1", 1000, byteRange{}, false, false},
		{"bytes=x-1", 1000, byteRange{}, false, false},
	} {
		got, ok, unsat := parseRange(tc.header, tc.size)
		if got != tc.want || ok != tc.ok || unsat != tc.unsatisfiable {
			t.Errorf("%q: got %+v %v %v, want %+v %v %v", tc.header, got, ok, unsat, tc.want, tc.ok, tc.unsatisfiable)
		}
	}
}

func TestConditionalHeaders(t *testing.T) {
	for header, want := range map[string]bool{`"abc"`: true, `W/"abc"`: true, `"x", "abc"`: true, "*": true, `"abd"`: false, "": false} {
		if got := etagMatches(header, `"abc"`); got != want {
			t.Errorf("If-None-Match %q: %v", header, got)
		}
	}
	for header, want := range map[string]bool{"gzip": true, "gzip, deflate, br": true, "deflate": false, "gzip;q=0": false, "gzip; q=0.5": true,
		"*": true, "*;q=0": false, "identity": false, "": false} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("Accept-Encoding %q: %v", header, got)
		}
	}
}
