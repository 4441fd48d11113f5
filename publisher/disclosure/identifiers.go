package disclosure

import (
	"fmt"
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

// freeTextColumn reports whether field i holds free text: role note, or a
// string field with no role, enum, pattern or organisation reference (and
// not another field's organisation name) holding a value of 100
// characters or 12 words or more (long organisation names stay below).
func freeTextColumn(s datasets.Schema, i int, rows []datasets.Row) bool {
	f := s.Fields[i]
	if f.Role == datasets.RoleNote {
		return true
	}
	if f.Role != "" || (f.Type != "" && f.Type != datasets.TypeString) || f.Constraints.Enum != nil ||
		f.Constraints.Pattern != "" || f.Organisation != nil {
		return false
	}
	for _, g := range s.Fields {
		if g.Organisation != nil && g.Organisation.NameField == f.Name {
			return false
		}
	}
	for _, row := range rows {
		text := row.Cells[i]
		if utf8.RuneCountInString(text) >= 100 || len(strings.Fields(text)) >= 12 {
			return true
		}
	}
	return false
}

// scanIdentifiers reports direct identifiers in an original file.
func (c *checker) scanIdentifiers(f File, t *table) {
	s := f.Resource.Schema
	person := recordLevel(s)
	for col, fl := range s.Fields {
		name := fl.Name
		cellFinding := func(kind string, blocking bool, row datasets.Row, value, what string) Finding {
			return Finding{Kind: kind, Blocking: blocking, File: f.Name, Row: row.Record, Column: col + 1, Field: name,
				Value: value, Message: fmt.Sprintf("Row %d, column %d (%s) %s.", row.Record, col+1, name, what)}
		}
		var kinds []string // in order of first finding
		capped := map[string]int{}
		blocking := map[string]bool{}
		emit := func(fd Finding) {
			if capped[fd.Kind] == 0 {
				kinds = append(kinds, fd.Kind)
			}
			capped[fd.Kind]++
			blocking[fd.Kind] = blocking[fd.Kind] || fd.Blocking
			if capped[fd.Kind] <= findingsCap {
				c.add(fd)
			}
		}
		flushCaps := func() {
			for _, kind := range kinds {
				if n := capped[kind]; n > findingsCap {
					c.add(Finding{Kind: kind, Blocking: blocking[kind], File: f.Name, Column: col + 1, Field: name,
						Message: fmt.Sprintf("Column %d (%s) has %d more cells like the %d reported (%s).", col+1, name, n-findingsCap, findingsCap, kind)})
				}
			}
		}

		if fl.Role == datasets.RoleDirectIdentifier {
			fd := Finding{Kind: KindDirectIdentifier, Blocking: true, File: f.Name, Column: col + 1, Field: name,
				Message: fmt.Sprintf("Column %d (%s) is declared a direct identifier, which must never be published; remove it and resubmit.", col+1, name)}
			for _, row := range f.Rows {
				if row.Values[col].Kind != datasets.KindMissing {
					fd.Row, fd.Value = row.Record, row.Cells[col]
					fd.Message = fmt.Sprintf("Column %d (%s) is declared a direct identifier, which must never be published (first value in row %d); remove it and resubmit.", col+1, name, row.Record)
					break
				}
			}
			c.add(fd)
		}

		freeText := freeTextColumn(s, col, f.Rows)
		if freeText {
			t.freeText = append(t.freeText, name)
			fd := Finding{Kind: KindFreeText, File: f.Name, Column: col + 1, Field: name,
				Message: fmt.Sprintf("Column %d (%s) holds free text: read it for anything that identifies a person before approving.", col+1, name)}
			for _, row := range f.Rows {
				if row.Values[col].Kind != datasets.KindMissing {
					fd.Row, fd.Value = row.Record, shorten(row.Cells[col], 80)
					break
				}
			}
			c.add(fd)
		}

		// NHS numbers.
		nhsColumn := nhsNoName.MatchString(name) || nhsNoName.MatchString(fl.Title)
		tokens, passing := 0, 0
		for _, row := range f.Rows {
			for _, tok := range nhsTokens(row.Cells[col]) {
				tokens++
				if IsNHSNumber(tok.digits) {
					passing++
				}
			}
		}
		columnWide := nhsColumn || passing > 0 && 2*passing > tokens
		if passing > 0 {
			for _, row := range f.Rows {
				text := row.Cells[col]
				mentionsNHS := strings.Contains(strings.ToLower(text), "nhs")
				for _, tok := range nhsTokens(text) {
					if !IsNHSNumber(tok.digits) || !columnWide && !mentionsNHS {
						continue
					}
					why := "holds what passes as an NHS number (Modulus 11)"
					switch {
					case mentionsNHS:
						why = fmt.Sprintf("holds an NHS number (%s, valid by Modulus 11) beside the word \"NHS\"", tok.text)
					case columnWide:
						why = fmt.Sprintf("holds an NHS number (%s): %d of the column's %d ten-digit numbers pass Modulus 11", tok.text, passing, tokens)
					}
					if strings.HasPrefix(tok.digits, "999") {
						why += " (in the test range 999, so the column holds NHS numbers)"
					}
					emit(cellFinding(KindNHSNumber, true, row, text, why))
				}
			}
		}

		// Postcodes: blocking in person-level files, for reviewers in
		// free text elsewhere.
		if person || freeText {
			for _, row := range f.Rows {
				for _, pc := range Postcodes(row.Cells[col]) {
					if person {
						emit(cellFinding(KindPostcode, true, row, row.Cells[col],
							fmt.Sprintf("holds a full postcode (%s) in a person-level file: publish LSOA or a wider area instead", pc)))
					} else {
						c.add(cellFinding(KindPostcode, false, row, row.Cells[col],
							fmt.Sprintf("holds a full postcode (%s) in free text: check that it is not a person's address", pc)))
					}
				}
			}
		}

		// Dates of birth, and full dates in person-level files.
		birth := birthName.MatchString(name) || birthName.MatchString(fl.Title)
		for _, row := range f.Rows {
			v := row.Values[col]
			if v.Kind == datasets.KindMissing || v.Kind == datasets.KindSuppressed {
				continue
			}
			if !birth && !(person && v.Kind == datasets.KindDate) {
				continue
			}
			full := v.Kind == datasets.KindDate || v.Kind == datasets.KindString && fullDateRe.MatchString(v.Text)
			switch {
			case birth && full:
				emit(cellFinding(KindDateOfBirth, true, row, v.Text,
					"holds a full date of birth: publish an age band (5-year bands, 90+) or at most month and year instead"))
			case person && v.Kind == datasets.KindDate:
				emit(cellFinding(KindFullDate, false, row, v.Text,
					"holds a full date in a person-level file: check that it cannot be linked with other data (a date of death with small-area geography must not be published)"))
			}
		}
		flushCaps()
	}
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
