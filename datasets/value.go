package datasets

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the kind of a parsed cell.
type Kind int

// Kinds of value. The zero Value is missing.
const (
	KindMissing    Kind = iota // one of the schema's missing values
	KindSuppressed             // one of the field's suppression markers
	KindString
	KindInteger
	KindNumber
	KindDate
	KindYear
	KindYearMonth
	KindPeriod
	KindBoolean
)

var kindNames = [...]string{"missing", "suppressed", "string", "integer", "number", "date", "year", "yearmonth", "period", "boolean"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one parsed cell.
type Value struct {
	Kind  Kind
	Text  string    // the cell exactly as it appears in the file, after decoding
	Int   int64     // integer, year; for period the first year (2022 for "2022/23")
	Float float64   // number (and integer, as float)
	Time  time.Time // date; yearmonth = first day of the month (UTC)
	Bool  bool
}

// Parse parses one cell of the field. A cell equal to one of missing is
// KindMissing (an error if the field is required); a cell equal to one of
// the field's Suppressed markers is KindSuppressed; anything else is parsed
// by the field's type and format and checked against its constraints.
//
// When the text does not parse, Parse returns a KindString Value holding
// the text, and an error; when it parses but breaks a constraint, it
// returns the typed Value and an error. Error messages do not say where the
// cell is, for example `"12x" is not a number`.
func (f Field) Parse(text string, missing []string) (Value, error) {
	p, err := newFieldParser(f)
	if err != nil {
		return Value{Kind: KindString, Text: text}, fmt.Errorf("invalid field %q: %w", f.Name, err)
	}
	return p.parse(text, missing)
}

// Parser returns f's Parse prepared once, for parsing many cells: Parse
// prepares the field (compiling its pattern, reading its format) on every
// call.
func (f Field) Parser() (func(text string, missing []string) (Value, error), error) {
	p, err := newFieldParser(f)
	if err != nil {
		return nil, fmt.Errorf("invalid field %q: %w", f.Name, err)
	}
	return p.parse, nil
}

// ParseDecimal reads text as integer and number fields write their
// values: an optionally signed decimal with an optional fraction and
// exponent, nothing else (no spaces, separators, "NaN" or "Inf").
func ParseDecimal(text string) (float64, bool) {
	if x, ok := smallInteger(text); ok {
		return x, true
	}
	if !isDecimal(text) {
		return 0, false
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// fieldParser is a Field prepared for parsing many cells: pattern
// compiled, format understood, bounds and enum parsed.
type fieldParser struct {
	f         Field
	typ       FieldType
	re        *regexp.Regexp
	date      dateLayout
	trueVals  []string
	falseVals []string
	enum      []Value
	min, max  *Value
}

var (
	defaultTrueValues  = []string{"true", "True", "TRUE", "1"}
	defaultFalseValues = []string{"false", "False", "FALSE", "0"}
)

// newFieldParser prepares f for parsing. Its errors name the property at
// fault, for example `constraints.pattern: ...`.
func newFieldParser(f Field) (*fieldParser, error) {
	p := &fieldParser{f: f, typ: f.typ()}
	if !slices.Contains(fieldTypes, p.typ) {
		return nil, fmt.Errorf("type: %q is not a supported type", f.Type)
	}
	switch p.typ {
	case TypeDate:
		layout, err := parseDateFormat(f.Format)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		p.date = layout
	case TypePeriod:
		if f.Format != "" && f.Format != PeriodDefault && f.Format != PeriodHyphen {
			return nil, fmt.Errorf(`format: %q is not a period format (use "default" for 2022/23 or "YYYY-YY" for 2018-19)`, f.Format)
		}
	default:
		if f.Format != "" && f.Format != "default" {
			return nil, fmt.Errorf(`format: %q is not a format for %s fields (only "default")`, f.Format, p.typ)
		}
	}
	if p.typ == TypeBoolean {
		p.trueVals, p.falseVals = f.TrueValues, f.FalseValues
		if p.trueVals == nil {
			p.trueVals = defaultTrueValues
		}
		if p.falseVals == nil {
			p.falseVals = defaultFalseValues
		}
		if len(p.trueVals) == 0 {
			return nil, errors.New("trueValues: must not be empty")
		}
		if len(p.falseVals) == 0 {
			return nil, errors.New("falseValues: must not be empty")
		}
		for _, t := range p.trueVals {
			if slices.Contains(p.falseVals, t) {
				return nil, fmt.Errorf("trueValues: %q is also in falseValues", t)
			}
		}
	}

	c := f.Constraints
	if c.Pattern != "" {
		re, err := compilePattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("constraints.pattern: %w", err)
		}
		p.re = re
	}
	if c.MinLength != nil || c.MaxLength != nil {
		if p.typ != TypeString {
			return nil, fmt.Errorf("constraints: minLength and maxLength apply to string fields, not %s", p.typ)
		}
		if c.MinLength != nil && *c.MinLength < 0 {
			return nil, fmt.Errorf("constraints.minLength: %d is negative", *c.MinLength)
		}
		if c.MaxLength != nil && *c.MaxLength < 0 {
			return nil, fmt.Errorf("constraints.maxLength: %d is negative", *c.MaxLength)
		}
		if c.MinLength != nil && c.MaxLength != nil && *c.MinLength > *c.MaxLength {
			return nil, fmt.Errorf("constraints.minLength: %d is more than maxLength %d", *c.MinLength, *c.MaxLength)
		}
	}
	for _, b := range []struct {
		prop string
		text string
		dst  **Value
	}{{"minimum", c.Minimum, &p.min}, {"maximum", c.Maximum, &p.max}} {
		if b.text == "" {
			continue
		}
		if p.typ == TypeString || p.typ == TypeBoolean {
			return nil, fmt.Errorf("constraints.%s: does not apply to %s fields", b.prop, p.typ)
		}
		v, err := p.parseTyped(b.text)
		if err != nil {
			return nil, fmt.Errorf("constraints.%s: %w", b.prop, err)
		}
		*b.dst = &v
	}
	if p.min != nil && p.max != nil && compareValues(*p.min, *p.max) > 0 {
		return nil, fmt.Errorf("constraints.minimum: %s is more than the maximum %s", c.Minimum, c.Maximum)
	}
	if c.Enum != nil {
		if len(c.Enum) == 0 {
			return nil, errors.New("constraints.enum: must not be empty")
		}
		p.enum = make([]Value, len(c.Enum))
		for i, e := range c.Enum {
			v, err := p.parseTyped(e)
			if err != nil {
				return nil, fmt.Errorf("constraints.enum[%d]: %w", i, err)
			}
			p.enum[i] = v
		}
	}
	return p, nil
}

// parse parses and checks one cell.
func (p *fieldParser) parse(text string, missing []string) (Value, error) {
	if slices.Contains(missing, text) {
		v := Value{Kind: KindMissing, Text: text}
		if p.f.Constraints.Required {
			return v, fmt.Errorf("%s is a missing value, but the field is required", quote(text))
		}
		return v, nil
	}
	if slices.Contains(p.f.Suppressed, text) {
		return Value{Kind: KindSuppressed, Text: text}, nil
	}
	v, err := p.parseTyped(text)
	if err != nil {
		return Value{Kind: KindString, Text: text}, err
	}
	return v, p.check(v)
}

// check checks v against the field's constraints.
func (p *fieldParser) check(v Value) error {
	c := p.f.Constraints
	if p.re != nil && !p.re.MatchString(v.Text) {
		return fmt.Errorf("%s does not match the pattern %s", quote(v.Text), c.Pattern)
	}
	if c.MinLength != nil || c.MaxLength != nil {
		n := utf8.RuneCountInString(v.Text)
		if c.MinLength != nil && n < *c.MinLength {
			return fmt.Errorf("%s is shorter than the minimum length %d", quote(v.Text), *c.MinLength)
		}
		if c.MaxLength != nil && n > *c.MaxLength {
			return fmt.Errorf("%s is longer than the maximum length %d", quote(v.Text), *c.MaxLength)
		}
	}
	if p.enum != nil && !slices.ContainsFunc(p.enum, func(e Value) bool { return compareValues(e, v) == 0 }) {
		return fmt.Errorf("%s is not one of the allowed values (%s)", quote(v.Text), listForMessage(c.Enum))
	}
	if p.min != nil && compareValues(v, *p.min) < 0 {
		return fmt.Errorf("%s is less than the minimum %s", quote(v.Text), c.Minimum)
	}
	if p.max != nil && compareValues(v, *p.max) > 0 {
		return fmt.Errorf("%s is more than the maximum %s", quote(v.Text), c.Maximum)
	}
	return nil
}

// parseTyped parses text by the field's type and format alone.
func (p *fieldParser) parseTyped(text string) (Value, error) {
	switch p.typ {
	case TypeString:
		return Value{Kind: KindString, Text: text}, nil
	case TypeInteger:
		return parseInteger(text)
	case TypeNumber:
		return parseNumber(text)
	case TypeDate:
		t, err := p.date.parse(text)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindDate, Text: text, Time: t}, nil
	case TypeYear:
		if len(text) != 4 || !allDigits(text) {
			return Value{}, fmt.Errorf("%s is not a year (four digits)", quote(text))
		}
		y, _ := strconv.Atoi(text)
		return Value{Kind: KindYear, Text: text, Int: int64(y)}, nil
	case TypeYearMonth:
		return parseYearMonth(text)
	case TypePeriod:
		return parsePeriod(text, p.f.Format)
	case TypeBoolean:
		switch {
		case slices.Contains(p.trueVals, text):
			return Value{Kind: KindBoolean, Text: text, Bool: true}, nil
		case slices.Contains(p.falseVals, text):
			return Value{Kind: KindBoolean, Text: text, Bool: false}, nil
		}
		return Value{}, fmt.Errorf("%s is not a boolean (true: %s; false: %s)", quote(text), listForMessage(p.trueVals), listForMessage(p.falseVals))
	}
	return Value{}, fmt.Errorf("unsupported type %q", p.typ)
}

func parseInteger(text string) (Value, error) {
	digits := text
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" || !allDigits(digits) {
		hint := numberHint(text)
		if hint == "" && isDecimal(text) {
			hint = " (it is a number with a fraction or exponent)"
		}
		return Value{}, fmt.Errorf("%s is not an integer%s", quote(text), hint)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%s is out of range for an integer", quote(text))
	}
	return Value{Kind: KindInteger, Text: text, Int: n, Float: float64(n)}, nil
}

func parseNumber(text string) (Value, error) {
	if !isDecimal(text) {
		return Value{}, fmt.Errorf("%s is not a number%s", quote(text), numberHint(text))
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(x, 0) {
		return Value{}, fmt.Errorf("%s is out of range for a number", quote(text))
	}
	return Value{Kind: KindNumber, Text: text, Float: x}, nil
}

// numberHint explains common reasons a number does not parse.
func numberHint(text string) string {
	switch {
	case text == "":
		return ""
	case strings.TrimSpace(text) != text:
		return " (it has leading or trailing spaces)"
	case strings.Contains(text, ","):
		return " (thousands separators are not allowed)"
	}
	return ""
}

// isDecimal reports whether s is an optionally signed decimal number with
// an optional fraction and exponent: 12, -0.5, .5, 32.5, 1e6, 2.5E-3.
// smallInteger reads text made only of up to 15 digits, with an optional
// minus sign, as most counts in a filtered export are: exactly the value
// strconv.ParseFloat gives (every such integer is a float64), without its
// general parse.
func smallInteger(text string) (float64, bool) {
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return 0, false
		}
		n = n*10 + int64(digits[i]-'0')
	}
	if len(digits) < len(text) {
		if n == 0 {
			return math.Copysign(0, -1), true // as ParseFloat reads "-0"
		}
		n = -n
	}
	return float64(n), true
}

func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func parseYearMonth(text string) (Value, error) {
	if len(text) != 7 || text[4] != '-' || !allDigits(text[:4]) || !allDigits(text[5:]) {
		return Value{}, fmt.Errorf("%s is not a year and month (YYYY-MM)", quote(text))
	}
	y, _ := strconv.Atoi(text[:4])
	m, _ := strconv.Atoi(text[5:])
	if m < 1 || m > 12 {
		return Value{}, fmt.Errorf("%s is not a year and month: there is no month %d", quote(text), m)
	}
	return Value{Kind: KindYearMonth, Text: text, Time: time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)}, nil
}

func parsePeriod(text, format string) (Value, error) {
	sep, example := byte('/'), "2022/23"
	if format == PeriodHyphen {
		sep, example = '-', "2018-19"
	}
	if len(text) != 7 || text[4] != sep || !allDigits(text[:4]) || !allDigits(text[5:]) {
		return Value{}, fmt.Errorf("%s is not a period like %s", quote(text), example)
	}
	first, _ := strconv.Atoi(text[:4])
	second, _ := strconv.Atoi(text[5:])
	if second != (first+1)%100 {
		return Value{}, fmt.Errorf("%s is not a period: %02d is not the year after %d", quote(text), second, first)
	}
	return Value{Kind: KindPeriod, Text: text, Int: int64(first)}, nil
}

// compareValues orders two values of the same kind.
func compareValues(a, b Value) int {
	switch a.Kind {
	case KindInteger, KindYear, KindPeriod:
		return cmpOrdered(a.Int, b.Int)
	case KindNumber:
		return cmpOrdered(a.Float, b.Float)
	case KindDate, KindYearMonth:
		return a.Time.Compare(b.Time)
	case KindBoolean:
		if a.Bool == b.Bool {
			return 0
		}
		if !a.Bool {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Text, b.Text)
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// quote quotes a cell for a message, shortened to at most 80 characters.
func quote(s string) string {
	return strconv.Quote(shorten(s, 80))
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

// listForMessage lists values for a message, at most ten of them.
func listForMessage(values []string) string {
	const limit = 10
	quoted := make([]string, 0, min(len(values), limit+1))
	for i, v := range values {
		if i == limit {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(values)-limit))
			break
		}
		quoted = append(quoted, quote(v))
	}
	return strings.Join(quoted, ", ")
}

// dateLayout is a parsed date format: a sequence of literal text and
// directives.
type dateLayout struct {
	source string // as written in the schema, for messages
	parts  []datePart
}

type datePart struct {
	directive byte   // 0 for literal text
	literal   string // when directive is 0
}

var monthAbbrevs = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseDateFormat reads a date format: "" or "default" for ISO dates, or
// a strftime-style pattern.
func parseDateFormat(format string) (dateLayout, error) {
	pattern := format
	if format == "" || format == "default" {
		pattern = "%Y-%m-%d"
	}
	l := dateLayout{source: format}
	if format == "" || format == "default" {
		l.source = "YYYY-MM-DD"
	}
	counts := map[byte]int{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			l.parts = append(l.parts, datePart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(pattern) {
			return dateLayout{}, fmt.Errorf("%q ends with a lone %%", format)
		}
		i++
		d := pattern[i]
		switch d {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'y', 'b', 'H', 'M', 'S':
			flush()
			l.parts = append(l.parts, datePart{directive: d})
			counts[d]++
		default:
			r, _ := utf8.DecodeRuneInString(pattern[i:])
			return dateLayout{}, fmt.Errorf("%q: %%%c is not supported (use %%Y %%m %%d %%y %%b %%H %%M %%S)", format, r)
		}
	}
	flush()
	for _, d := range []byte("YmdybHMS") {
		if counts[d] > 1 {
			return dateLayout{}, fmt.Errorf("%q has %%%c more than once", format, d)
		}
	}
	switch {
	case counts['Y']+counts['y'] != 1:
		return dateLayout{}, fmt.Errorf("%q needs one year (%%Y or %%y)", format)
	case counts['m']+counts['b'] != 1:
		return dateLayout{}, fmt.Errorf("%q needs one month (%%m or %%b)", format)
	case counts['d'] != 1:
		return dateLayout{}, fmt.Errorf("%q needs a day (%%d)", format)
	}
	return l, nil
}

// parse reads a date in the layout.
func (l dateLayout) parse(text string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%s is not a date in the format %s", quote(text), l.source)
	}
	year, month, day, hour, minute, second := 0, 0, 0, 0, 0, 0
	s := text
	for _, p := range l.parts {
		if p.directive == 0 {
			if !strings.HasPrefix(s, p.literal) {
				return bad()
			}
			s = s[len(p.literal):]
			continue
		}
		if p.directive == 'b' {
			if len(s) < 3 {
				return bad()
			}
			i := slices.Index(monthAbbrevs[:], strings.ToLower(s[:3]))
			if i < 0 {
				return bad()
			}
			month = i + 1
			s = s[3:]
			continue
		}
		width := 2
		if p.directive == 'Y' {
			width = 4
		}
		if len(s) < width || !allDigits(s[:width]) {
			return bad()
		}
		n, _ := strconv.Atoi(s[:width])
		s = s[width:]
		switch p.directive {
		case 'Y':
			year = n
		case 'y':
			year = 2000 + n
			if n >= 69 {
				year = 1900 + n
			}
		case 'm':
			month = n
		case 'd':
			day = n
		case 'H':
			hour = n
		case 'M':
			minute = n
		case 'S':
			second = n
		}
	}
	if s != "" {
		return bad()
	}
	if month < 1 || month > 12 {
		return time.Time{}, fmt.Errorf("%s is not a real date: there is no month %d", quote(text), month)
	}
	if last := daysIn(year, time.Month(month)); day < 1 || day > last {
		return time.Time{}, fmt.Errorf("%s is not a real date: %s %d has %d days", quote(text), time.Month(month), year, last)
	}
	if hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, fmt.Errorf("%s is not a real time of day", quote(text))
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC), nil
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
