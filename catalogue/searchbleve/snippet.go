package searchbleve

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/candour/candour/catalogue"
)

// snippetBytes is about how long a snippet is.
const snippetBytes = 240

// snippet cuts the passage of text around the first word matching a query
// token (a word matches when it starts with the token's first five
// letters, so "replacements" matches "replacement"), and lists the byte
// ranges of matching words within it. The text stays plain: the site
// escapes it and marks the ranges.
func snippet(text string, tokens []string) (string, [][2]int) {
	if text == "" {
		return "", nil
	}
	stems := make([]string, 0, len(tokens))
	for _, t := range tokens {
		if len(t) < 2 {
			continue
		}
		if len(t) > 5 {
			t = t[:5]
		}
		stems = append(stems, t)
	}
	type span struct{ from, to int }
	var matches []span
	for _, loc := range words.FindAllStringIndex(text, -1) {
		w := strings.ToLower(text[loc[0]:loc[1]])
		for _, s := range stems {
			if strings.HasPrefix(w, s) {
				matches = append(matches, span{loc[0], loc[1]})
				break
			}
		}
	}
	from := 0
	if len(matches) > 0 && matches[0].from > 60 {
		from = matches[0].from - 60
		if i := strings.IndexByte(text[from:matches[0].from], ' '); i >= 0 {
			from += i + 1
		}
	}
	to := min(len(text), from+snippetBytes)
	if to < len(text) {
		if i := strings.LastIndexByte(text[from:to], ' '); i > 0 {
			to = from + i
		}
	}
	for from > 0 && !utf8.RuneStart(text[from]) {
		from++
	}
	for to < len(text) && !utf8.RuneStart(text[to]) {
		to--
	}
	out := text[from:to]
	var marks [][2]int
	for _, m := range matches {
		if m.from >= from && m.to <= to {
			marks = append(marks, [2]int{m.from - from, m.to - from})
		}
	}
	prefix, suffix := "", ""
	if from > 0 {
		prefix = "… "
	}
	if to < len(text) {
		suffix = " …"
	}
	for i := range marks {
		marks[i][0] += len(prefix)
		marks[i][1] += len(prefix)
	}
	return prefix + out + suffix, marks
}

// haversineKM is the great-circle distance between two points.
func haversineKM(a, b catalogue.LatLon) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}
