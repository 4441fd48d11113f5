package main

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// fleschReadingEase scores English text: 206.835 − 1.015 × words per
// sentence − 84.6 × syllables per word. 60 and above is plain English.
func fleschReadingEase(text string) float64 {
	sentences := len(regexp.MustCompile(`[.!?]+(\s|$)`).FindAllString(text, -1))
	if sentences == 0 {
		sentences = 1
	}
	var words, syllables int
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
		words++
		syllables += syllableCount(w)
	}
	if words == 0 {
		return 0
	}
	return 206.835 - 1.015*float64(words)/float64(sentences) - 84.6*float64(syllables)/float64(words)
}

// syllableCount estimates a word's syllables: its groups of vowels, less
// a silent final e, at least one. Numbers and initialisms count as one.
func syllableCount(word string) int {
	w := strings.ToLower(word)
	if strings.IndexFunc(w, unicode.IsLetter) < 0 || word == strings.ToUpper(word) && len(word) <= 4 {
		return 1
	}
	n, inVowels := 0, false
	for _, r := range w {
		vowel := strings.ContainsRune("aeiouy", r)
		if vowel && !inVowels {
			n++
		}
		inVowels = vowel
	}
	if strings.HasSuffix(w, "e") && !strings.HasSuffix(w, "le") && n > 1 {
		n--
	}
	return max(n, 1)
}

func TestFleschReadingEase(t *testing.T) {
	for _, c := range []struct {
		text     string
		min, max float64
	}{
		{"The cat sat on the mat.", 116, 117}, // 6 words, 6 syllables, 1 sentence
		{"Notwithstanding considerable methodological heterogeneity, institutional comparisons necessitate circumspection.", -400, 0},
	} {
		if got := fleschReadingEase(c.text); got < c.min || got > c.max {
			t.Errorf("%q: %.1f, want %v to %v", c.text, got, c.min, c.max)
		}
	}
}

// headlinesArePlain holds the headline sentences of scorecards, the
// comparison and audit pages to a Flesch reading ease of at least 60.
func headlinesArePlain(t *testing.T, s *server) {
	t.Helper()
	headline := regexp.MustCompile(`<p class="nhsuk-lede-text" id="headline">([^<]+)</p>`)
	for _, path := range []string{"/organisations/RR8", "/organisations/RX1", "/organisations/RA2", "/organisations/A81001",
		"/compare?org=RR8&org=RX1", "/compare?org=RR8&org=RX1&org=RA2",
		"/audits/synthetic-surgical-outcomes", "/audits/synthetic-surgical-outcomes?level=team", "/audits/synthetic-surgical-outcomes?level=consultant"} {
		m := headline.FindStringSubmatch(s.mustGet(t, path))
		if m == nil {
			t.Errorf("%s has no headline sentence", path)
			continue
		}
		text := html.UnescapeString(m[1])
		if score := fleschReadingEase(text); score < 60 {
			t.Errorf("%s: the headline scores %.0f on the Flesch reading-ease scale, under 60: %q", path, score, text)
		} else {
			t.Logf("%s: %.0f: %s", path, score, text)
		}
	}
}
