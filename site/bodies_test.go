package site

import "testing"

func TestBodyDecisionsReadBack(t *testing.T) {
	for _, tc := range []struct {
		header          string
		limit           int
		upload, refused bool
	}{
		{bodyDecision(4096, false), 4096, false, false},
		{bodyDecision(300<<20, true), 300 << 20, true, false},
		{bodyTooLargeFor(262144), 262144, false, true},
		{bodyRefused, formBodyBytes, false, true},
		{"", formBodyBytes, false, false},
		{"upload nonsense", formBodyBytes, true, false},
	} {
		limit, upload, refused := parseBodyDecision(tc.header)
		if limit != tc.limit || upload != tc.upload || refused != tc.refused {
			t.Errorf("%q: limit %d, upload %v, refused %v; want %d, %v, %v", tc.header, limit, upload, refused, tc.limit, tc.upload, tc.refused)
		}
	}
}
