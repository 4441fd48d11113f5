package feedback

import (
	"regexp"
	"strings"
)

// Reasons an item is held, as Screen gives them. They never quote what
// was found.
const (
	ReasonNHSNumber = "the comment seems to contain an NHS number"
	ReasonPhone     = "the comment seems to contain a telephone number"
	ReasonEmail     = "the comment seems to contain an email address"
)

var (
	// digitRun is digits separated by at most one space or hyphen each.
	digitRun = regexp.MustCompile(`\d+(?:[ \-]\d+)*`)
	// phone is a UK number: +44 or 0044 (with an optional (0)), or 0,
	// then the national number, written with spaces, hyphens or brackets.
	phone = regexp.MustCompile(`(?:\+44|\b0044|\(0|\b0)[\d \-()]{8,16}\d`)
	email = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
)

// Screen reports whether text seems to carry personal data, and which:
// an NHS number (ten digits, written together or grouped 3-3-4 or any
// other way with single spaces or hyphens, whose modulus 11 check digit
// is right), a UK telephone number (a national number of 10 or 11 digits
// starting 01, 02, 03, 07 or 08, or the same after +44 or 0044), or an
// email address.
func Screen(text string) (reason string, found bool) {
	switch {
	case containsNHSNumber(text):
		return ReasonNHSNumber, true
	case containsPhone(text):
		return ReasonPhone, true
	case email.MatchString(text):
		return ReasonEmail, true
	}
	return "", false
}

// containsNHSNumber looks, within each run of digit groups, for
// consecutive whole groups of ten digits in all that pass the check.
func containsNHSNumber(text string) bool {
	for _, run := range digitRun.FindAllString(text, -1) {
		groups := strings.FieldsFunc(run, func(r rune) bool { return r == ' ' || r == '-' })
		for i := range groups {
			digits := ""
			for j := i; j < len(groups) && len(digits) < 10; j++ {
				digits += groups[j]
			}
			if len(digits) == 10 && ValidNHSNumber(digits) {
				return true
			}
		}
	}
	return false
}

// ValidNHSNumber reports whether s is ten digits whose last is the
// modulus 11 check digit of the first nine (weights 10 down to 2; 11 less
// the remainder, 11 becoming 0; a result of 10 is never valid).
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}

// containsPhone looks, within each candidate, at its leading whole
// groups of digits, so that a number followed by other digits ("07700
// 900123 2 times") is still found.
func containsPhone(text string) bool {
	for _, m := range phone.FindAllString(text, -1) {
		groups := strings.FieldsFunc(m, func(r rune) bool { return r == ' ' || r == '-' || r == '(' || r == ')' })
		acc := ""
		for _, g := range groups {
			acc += g
			if ukNational(acc) {
				return true
			}
		}
	}
	return false
}

// ukNational reports whether a candidate, its separators removed, is a
// UK national number: 0 then 9 or 10 digits, the first 1, 2, 3, 7 or 8.
func ukNational(m string) bool {
	var b strings.Builder
	for _, r := range m {
		if r >= '0' && r <= '9' || r == '+' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+44"):
		d = "0" + strings.TrimPrefix(strings.TrimPrefix(d, "+44"), "0")
	case strings.HasPrefix(d, "0044"):
		d = "0" + strings.TrimPrefix(strings.TrimPrefix(d, "0044"), "0")
	}
	if len(d) != 10 && len(d) != 11 || d[0] != '0' {
		return false
	}
	return strings.ContainsRune("12378", rune(d[1]))
}
