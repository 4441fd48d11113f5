package catalogue

import (
	"strings"
	"unicode"
)

// TitleCase turns the directory's upper-case names into title case
// ("THE DENSHAM SURGERY" → "The Densham Surgery"), keeping NHS and
// a few initialisms (NHS, GP, PCN, CIC, UK) in capitals. Text that is not
// all in capitals is returned as it is. Pages show names and addresses
// so; the directory's own form stays in the data and the downloads.
func TitleCase(s string) string {
	if s != strings.ToUpper(s) {
		return s
	}
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		parts := strings.Split(w, "-")
		for j, p := range parts {
			parts[j] = titleWord(p, i > 0 || j > 0)
		}
		words[i] = strings.Join(parts, "-")
	}
	return strings.Join(words, " ")
}

// smallWords stay in lower case inside a name ("Stockton-on-Tees",
// "House of the Rising Sun").
var smallWords = map[string]bool{"and": true, "of": true, "the": true, "on": true, "upon": true, "in": true, "le": true, "by": true, "under": true}

// initialisms stay in capitals.
var initialisms = map[string]bool{"NHS": true, "GP": true, "GPS": true, "PCN": true, "CIC": true, "UK": true, "ICB": true, "CCG": true, "LLP": true, "HMP": true}

// titleWord capitalises one lower-case word (or part of a hyphenated
// one), leaving punctuation round it as it is.
func titleWord(w string, inside bool) string {
	core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	switch {
	case core == "":
		return w
	case initialisms[strings.ToUpper(core)]:
		return strings.Replace(w, core, strings.ToUpper(core), 1)
	case inside && smallWords[w]:
		return w
	}
	r := []rune(w)
	for k, c := range r {
		if unicode.IsDigit(c) {
			break // "1st", not "1St"
		}
		if unicode.IsLetter(c) {
			r[k] = unicode.ToUpper(c)
			break
		}
	}
	return string(r)
}
