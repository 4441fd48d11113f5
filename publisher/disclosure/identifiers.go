package disclosure

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/candour/candour/datasets"
)

// NHSNumberValid reports whether digits (exactly ten ASCII digits) pass
// the Modulus 11 check of the NHS Data Dictionary: S = Σ (11 − i)·d_i over
// the first nine digits, C = 11 − (S mod 11), 11 counts as 0, 10 is never
// valid, and C must equal the tenth digit.
func NHSNumberValid(digits string) bool {
	if len(digits) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
		if i < 9 {
			sum += (10 - i) * int(digits[i]-'0')
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(digits[9]-'0')
}

// IsNHSNumber reports whether digits is treated as an NHS number: it
// passes Modulus 11 and is not a repeated digit (0000000000 and 1111111111
// pass the check but are never issued; Candour rejects them by policy).
func IsNHSNumber(digits string) bool {
	if !NHSNumberValid(digits) {
		return false
	}
	return strings.Count(digits, digits[:1]) != 10
}

// nhsToken is a 10-digit token found in text: 3-3-4 digits, optionally
// separated by single spaces or hyphens.
type nhsToken struct {
	text   string // as written
	digits string
}

// nhsTokens finds the 10-digit tokens of s that are not part of a longer
// run of digits.
func nhsTokens(s string) []nhsToken {
	if countDigits(s) < 10 {
		return nil
	}
	var out []nhsToken
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && isDigit(s[i-1]) {
			continue
		}
		if end, digits, ok := match334(s, i); ok {
			out = append(out, nhsToken{text: s[i:end], digits: digits})
			i = end - 1
		}
	}
	return out
}

// match334 matches \d{3}[ -]?\d{3}[ -]?\d{4} at i, not followed by a digit.
func match334(s string, i int) (int, string, bool) {
	var digits []byte
	j := i
	for _, n := range []int{3, 3, 4} {
		if len(digits) > 0 && j < len(s) && (s[j] == ' ' || s[j] == '-') {
			j++
		}
		for k := 0; k < n; k++ {
			if j >= len(s) || !isDigit(s[j]) {
				return 0, "", false
			}
			digits = append(digits, s[j])
			j++
		}
	}
	if j < len(s) && isDigit(s[j]) {
		return 0, "", false
	}
	return j, string(digits), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

var postcodeRe = regexp.MustCompile(`(?i)\b(GIR|[A-Z]{1,2}[0-9][A-Z0-9]?) {0,2}([0-9][A-Z]{2})\b`)

// Postcodes returns the full unit postcodes in s, by the Royal Mail
// formats and letter rules (A7). NHS pseudo-postcodes (ZZ99 …) break the
// letter rules and are not returned.
func Postcodes(s string) []string {
	if strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 { // every postcode has a digit
		return nil
	}
	var out []string
	for _, m := range postcodeRe.FindAllStringSubmatchIndex(s, -1) {
		outward, inward := strings.ToUpper(s[m[2]:m[3]]), strings.ToUpper(s[m[4]:m[5]])
		if validPostcode(outward, inward) {
			out = append(out, s[m[0]:m[1]])
		}
	}
	return out
}

func validPostcode(outward, inward string) bool {
	if outward == "GIR" {
		return inward == "0AA"
	}
	if strings.ContainsAny(inward[1:], "CIKMOV") {
		return false
	}
	letter := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	o := outward
	if strings.IndexByte("QVX", o[0]) >= 0 {
		return false
	}
	switch {
	case len(o) >= 2 && letter(o[1]): // AN.. with a second letter: AAN, AANN, AANA
		if strings.IndexByte("IJZ", o[1]) >= 0 {
			return false
		}
		switch len(o) {
		case 3: // AAN
			return isDigit(o[2])
		case 4: // AANN or AANA
			return isDigit(o[2]) && (isDigit(o[3]) || strings.IndexByte("ABEHMNPRVWXY", o[3]) >= 0)
		}
		return false
	default: // AN, ANN, ANA
		switch len(o) {
		case 2:
			return isDigit(o[1])
		case 3:
			return isDigit(o[1]) && (isDigit(o[2]) || strings.IndexByte("ABCDEFGHJKPSTUW", o[2]) >= 0)
		}
		return false
	}
}

var (
	birthName  = regexp.MustCompile(`(?i)birth|\bdob\b|d\.o\.b`)
	nhsNoName  = regexp.MustCompile(`(?i)nhs[ _-]*(no\b|num|#)`)
	fullDateRe = regexp.MustCompile(`\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]))\b`)
)

// findingsCap is how many findings of one kind one column gets before the
// rest are summed up in one more.
const findingsCap = 20

// recordLevel reports whether the file's rows are about single people.
func recordLevel(s datasets.Schema) bool {
	if s.Disclosure != nil && s.Disclosure.RecordLevel {
		return true
	}
	for _, f := range s.Fields {
		if f.Role == datasets.RoleQuasiIdentifier || f.Role == datasets.RoleSensitive {
			return true
		}
	}
	return false
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
