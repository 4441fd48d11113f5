package site

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The part of Solr's query syntax CKAN clients and harvesters send as
// package_search's fq, and its sort. fq is a boolean expression of
// field:value terms: quoted values, ranges ([a TO b] inclusive, {a TO b}
// exclusive, * for an open end), AND, OR, NOT, a leading - (not) or +
// (required), parentheses; terms side by side must all hold (CKAN's
// default operator). Fields: organization (also owner_org), tags, groups,
// res_format, license_id, name, id, isopen, and the dates
// metadata_modified and metadata_created, whose bounds are ISO 8601
// instants (a trailing Z or none, as harvesters write them) or NOW, NOW-7DAYS
// and the like. Anything else is refused with a message naming it, never
// guessed.

// ckanPredicate is a parsed fq.
type ckanPredicate func(p ckanPackage) bool

func matchAll(ckanPackage) bool { return true }

// fqParser reads one fq expression.
type fqParser struct {
	src string
	pos int
	now time.Time
}

// parseFQ parses fq (everything matches an empty one).
func parseFQ(fq string, now time.Time) (ckanPredicate, error) {
	p := &fqParser{src: fq, now: now}
	p.space()
	if p.pos == len(p.src) {
		return matchAll, nil
	}
	pred, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("fq: %w", err)
	}
	if p.space(); p.pos < len(p.src) {
		return nil, fmt.Errorf("fq: unexpected %q at character %d", p.rest(10), p.pos+1)
	}
	return pred, nil
}

func (p *fqParser) rest(n int) string { return p.src[p.pos:min(len(p.src), p.pos+n)] }

func (p *fqParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// keyword consumes word (AND, OR, NOT) when it stands alone next.
func (p *fqParser) keyword(word string) bool {
	if !p.atKeyword(word) {
		return false
	}
	p.pos += len(word)
	return true
}

// atKeyword reports whether word stands alone next.
func (p *fqParser) atKeyword(word string) bool {
	p.space()
	end := p.pos + len(word)
	return strings.HasPrefix(p.src[p.pos:], word) && (end == len(p.src) || strings.ContainsRune(" \t\r\n(", rune(p.src[end])))
}

func (p *fqParser) or() (ckanPredicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") || p.symbol("||") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(pkg ckanPackage) bool { return l(pkg) || right(pkg) }
	}
	return left, nil
}

func (p *fqParser) symbol(s string) bool {
	p.space()
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *fqParser) and() (ckanPredicate, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.pos == len(p.src) || p.src[p.pos] == ')' || p.atKeyword("OR") || strings.HasPrefix(p.src[p.pos:], "||") {
			return left, nil
		}
		if !p.keyword("AND") {
			p.symbol("&&")
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(pkg ckanPackage) bool { return l(pkg) && right(pkg) }
	}
}

func (p *fqParser) unary() (ckanPredicate, error) {
	p.space()
	switch {
	case p.keyword("NOT") || p.symbol("!") || p.symbol("-"):
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(pkg ckanPackage) bool { return !inner(pkg) }, nil
	case p.symbol("+"):
		return p.unary()
	case p.symbol("("):
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.symbol(")") {
			return nil, fmt.Errorf("a ( at character %d is not closed", p.pos)
		}
		return inner, nil
	}
	return p.term()
}

var fqField = regexp.MustCompile(`^([A-Za-z_*][A-Za-z0-9_.]*):`)

// term reads field:value.
func (p *fqParser) term() (ckanPredicate, error) {
	m := fqField.FindStringSubmatch(p.src[p.pos:])
	if m == nil {
		return nil, fmt.Errorf("%q at character %d is not a field:value term", p.rest(20), p.pos+1)
	}
	field := m[1]
	p.pos += len(m[0])
	if field == "*" {
		if !p.symbol("*") {
			return nil, fmt.Errorf("only *:* may have * for a field")
		}
		return matchAll, nil
	}
	if p.pos < len(p.src) && (p.src[p.pos] == '[' || p.src[p.pos] == '{') {
		return p.rangeTerm(field)
	}
	value, err := p.value()
	if err != nil {
		return nil, err
	}
	return ckanFieldMatch(field, value, p.now)
}

// value reads a quoted or bare value.
func (p *fqParser) value() (string, error) {
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			return "", fmt.Errorf("a quote at character %d is not closed", p.pos+1)
		}
		v := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	}
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n()", rune(p.src[p.pos])) {
		if p.src[p.pos] == '\\' && p.pos+1 < len(p.src) {
			p.pos++
		}
		p.pos++
	}
	if p.pos == start {
		return "", fmt.Errorf("a value is missing at character %d", p.pos+1)
	}
	return strings.ReplaceAll(p.src[start:p.pos], `\`, ""), nil
}

// rangeTerm reads [a TO b] or {a TO b} (either end * for open) on a date
// field.
func (p *fqParser) rangeTerm(field string) (ckanPredicate, error) {
	open := p.src[p.pos]
	closeAt := strings.IndexAny(p.src[p.pos:], "]}")
	if closeAt < 0 {
		return nil, fmt.Errorf("the range of %s at character %d is not closed with ] or }", field, p.pos+1)
	}
	inner := p.src[p.pos+1 : p.pos+closeAt]
	shut := p.src[p.pos+closeAt]
	p.pos += closeAt + 1
	lowText, highText, ok := strings.Cut(inner, " TO ")
	if !ok {
		return nil, fmt.Errorf("the range of %s must be [from TO to], got %q", field, inner)
	}
	get, ok := ckanDateFields[field]
	if !ok {
		return nil, fmt.Errorf("%s cannot take a range (ranges are for metadata_modified and metadata_created)", field)
	}
	low, err := solrTime(strings.TrimSpace(lowText), p.now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	high, err := solrTime(strings.TrimSpace(highText), p.now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return func(pkg ckanPackage) bool {
		t := get(pkg)
		if !low.IsZero() && (t.Before(low) || open == '{' && t.Equal(low)) {
			return false
		}
		return high.IsZero() || !(t.After(high) || shut == '}' && t.Equal(high))
	}, nil
}

// ckanDateFields are the date fields fq may filter by.
var ckanDateFields = map[string]func(ckanPackage) time.Time{
	"metadata_modified": func(p ckanPackage) time.Time { return p.modified },
	"metadata_created":  func(p ckanPackage) time.Time { return p.created },
}

var solrNow = regexp.MustCompile(`^NOW(?:([+-])(\d+)(SECOND|MINUTE|HOUR|DAY|MONTH|YEAR)S?)?(?:/(DAY|HOUR))?$`)

// solrTime reads a range bound: an instant, NOW with an offset, or * (the
// zero time: open).
func solrTime(s string, now time.Time) (time.Time, error) {
	if s == "*" {
		return time.Time{}, nil
	}
	if m := solrNow.FindStringSubmatch(s); m != nil {
		t := now.UTC()
		if m[1] != "" {
			n, _ := strconv.Atoi(m[2])
			if m[1] == "-" {
				n = -n
			}
			switch m[3] {
			case "SECOND":
				t = t.Add(time.Duration(n) * time.Second)
			case "MINUTE":
				t = t.Add(time.Duration(n) * time.Minute)
			case "HOUR":
				t = t.Add(time.Duration(n) * time.Hour)
			case "DAY":
				t = t.AddDate(0, 0, n)
			case "MONTH":
				t = t.AddDate(0, n, 0)
			case "YEAR":
				t = t.AddDate(n, 0, 0)
			}
		}
		switch m[4] {
		case "DAY":
			t = t.Truncate(24 * time.Hour)
		case "HOUR":
			t = t.Truncate(time.Hour)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-01-01T00:00:00Z, NOW-7DAYS or *)", s)
}

// ckanFieldMatch is the term field:value.
func ckanFieldMatch(field, value string, now time.Time) (ckanPredicate, error) {
	any := value == "*"
	switch field {
	case "organization", "owner_org":
		return func(p ckanPackage) bool { return p.Organization != nil && (any || p.Organization.Name == value) }, nil
	case "tags":
		return func(p ckanPackage) bool {
			return slices.ContainsFunc(p.Tags, func(t ckanTag) bool { return any || t.Name == value })
		}, nil
	case "groups":
		return func(p ckanPackage) bool {
			return slices.ContainsFunc(p.Groups, func(g ckanGroup) bool { return any || g.Name == value })
		}, nil
	case "res_format":
		return func(p ckanPackage) bool {
			return slices.ContainsFunc(p.Resources, func(r ckanResource) bool { return any || strings.EqualFold(r.Format, value) })
		}, nil
	case "license_id":
		return func(p ckanPackage) bool { return any || p.LicenseID == value }, nil
	case "name":
		return func(p ckanPackage) bool { return any || p.Name == value }, nil
	case "id":
		return func(p ckanPackage) bool { return any || p.ID == value }, nil
	case "isopen":
		want, err := strconv.ParseBool(value)
		if err != nil && !any {
			return nil, fmt.Errorf("isopen:%s: the value must be true or false", value)
		}
		return func(p ckanPackage) bool { return any || p.IsOpen == want }, nil
	case "metadata_modified", "metadata_created":
		t, err := solrTime(value, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		get := ckanDateFields[field]
		return func(p ckanPackage) bool { return any || get(p).Equal(t) }, nil
	}
	return nil, fmt.Errorf("the field %q cannot filter (organization, owner_org, tags, groups, res_format, license_id, name, id, isopen, metadata_modified, metadata_created)", field)
}

// ckanSortKey is one key of package_search's sort.
type ckanSortKey struct {
	field string
	desc  bool
}

// parseCKANSort reads "metadata_modified desc, name asc" (CKAN's default
// when empty: score desc, metadata_modified desc).
func parseCKANSort(s string) ([]ckanSortKey, error) {
	if strings.TrimSpace(s) == "" {
		s = "score desc, metadata_modified desc"
	}
	var keys []ckanSortKey
	for part := range strings.SplitSeq(s, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return nil, fmt.Errorf("sort: %q must be a field and asc or desc", strings.TrimSpace(part))
		}
		k := ckanSortKey{field: words[0]}
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, fmt.Errorf("sort: %q: the direction must be asc or desc", strings.TrimSpace(part))
			}
		}
		switch k.field {
		case "score", "metadata_modified", "metadata_created", "name", "id", "title_string", "num_resources":
		default:
			return nil, fmt.Errorf("sort: %q cannot sort (score, metadata_modified, metadata_created, name, id, title_string, num_resources)", k.field)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortPackages orders packages by keys; rank is each package's search
// rank (1 first; all 0 without a query), for score.
func sortPackages(pkgs []ckanPackage, keys []ckanSortKey, rank map[string]int) {
	slices.SortStableFunc(pkgs, func(a, b ckanPackage) int {
		for _, k := range keys {
			var c int
			switch k.field {
			case "score": // a higher score is a better (lower) rank
				c = -cmp.Compare(rank[a.Name], rank[b.Name])
			case "metadata_modified":
				c = a.modified.Compare(b.modified)
			case "metadata_created":
				c = a.created.Compare(b.created)
			case "name", "id":
				c = strings.Compare(a.Name, b.Name)
			case "title_string":
				c = strings.Compare(a.Title, b.Title)
			case "num_resources":
				c = cmp.Compare(a.NumResources, b.NumResources)
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}
