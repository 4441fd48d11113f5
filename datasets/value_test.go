package datasets

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func intp(n int) *int { return &n }

func TestFieldParse(t *testing.T) {
	var (
		str     = Field{Name: "s", Type: TypeString}
		code    = Field{Name: "code", Type: TypeString, Constraints: Constraints{Pattern: `[A-Z]\d{4}`}}
		integer = Field{Name: "n", Type: TypeInteger}
		number  = Field{Name: "x", Type: TypeNumber}
		total   = Field{Name: "Total", Type: TypeNumber, Suppressed: []string{"*"}}
		isoDate = Field{Name: "d", Type: TypeDate}
		ymd     = Field{Name: "d", Type: TypeDate, Format: "%Y%m%d"}
		dmy     = Field{Name: "d", Type: TypeDate, Format: "%d/%m/%Y"}
		dby     = Field{Name: "d", Type: TypeDate, Format: "%d-%b-%y"}
		stamp   = Field{Name: "d", Type: TypeDate, Format: "%Y-%m-%d %H:%M:%S"}
		pct     = Field{Name: "d", Type: TypeDate, Format: "%Y%m%d%%"}
		year    = Field{Name: "y", Type: TypeYear}
		ym      = Field{Name: "ym", Type: TypeYearMonth}
		period  = Field{Name: "p", Type: TypePeriod}
		hyphen  = Field{Name: "p", Type: TypePeriod, Format: "YYYY-YY"}
		boolean = Field{Name: "b", Type: TypeBoolean}
		yn      = Field{Name: "b", Type: TypeBoolean, TrueValues: []string{"Y"}, FalseValues: []string{"N"}}
	)
	required := func(f Field) Field { f.Constraints.Required = true; return f }
	withC := func(f Field, c Constraints) Field { f.Constraints = c; return f }
	dflt := []string{""}

	tests := []struct {
		name    string
		field   Field
		missing []string
		text    string
		want    Value
		wantErr string // substring; "" means no error
	}{
		// Strings keep their text exactly.
		{"code with leading zeros", str, dflt, "00C", Value{Kind: KindString, Text: "00C"}, ""},
		{"number-like code stays text", str, dflt, "01234", Value{Kind: KindString, Text: "01234"}, ""},
		{"spaces kept", str, dflt, " x ", Value{Kind: KindString, Text: " x "}, ""},
		{"code matching pattern", code, dflt, "A8100", Value{Kind: KindString, Text: "A8100"}, ""},
		{"code failing pattern", code, dflt, "A81001", Value{Kind: KindString, Text: "A81001"}, `"A81001" does not match the pattern [A-Z]\d{4}`},
		{"enum", withC(str, Constraints{Enum: []string{"A", "C"}}), dflt, "B", Value{Kind: KindString, Text: "B"}, `"B" is not one of the allowed values ("A", "C")`},
		{"minLength", withC(str, Constraints{MinLength: intp(3)}), dflt, "ab", Value{Kind: KindString, Text: "ab"}, "shorter than the minimum length 3"},
		{"maxLength counts characters", withC(str, Constraints{MaxLength: intp(3)}), dflt, "été", Value{Kind: KindString, Text: "été"}, ""},
		{"maxLength", withC(str, Constraints{MaxLength: intp(3)}), dflt, "abcd", Value{Kind: KindString, Text: "abcd"}, "longer than the maximum length 3"},

		// Integers.
		{"integer", integer, dflt, "42", Value{Kind: KindInteger, Text: "42", Int: 42, Float: 42}, ""},
		{"negative integer", integer, dflt, "-7", Value{Kind: KindInteger, Text: "-7", Int: -7, Float: -7}, ""},
		{"signed integer", integer, dflt, "+3", Value{Kind: KindInteger, Text: "+3", Int: 3, Float: 3}, ""},
		{"leading zeros", integer, dflt, "007", Value{Kind: KindInteger, Text: "007", Int: 7, Float: 7}, ""},
		{"half is not an integer", integer, dflt, "12.5", Value{Kind: KindString, Text: "12.5"}, `"12.5" is not an integer`},
		{"thousands separator", integer, dflt, "1,234", Value{Kind: KindString, Text: "1,234"}, `"1,234" is not an integer (thousands separators`},
		{"integer with space", integer, dflt, " 12", Value{Kind: KindString, Text: " 12"}, `" 12" is not an integer (it has leading or trailing spaces)`},
		{"lone sign", integer, dflt, "-", Value{Kind: KindString, Text: "-"}, "is not an integer"},
		{"integer overflow", integer, dflt, "9223372036854775808", Value{Kind: KindString, Text: "9223372036854775808"}, "out of range"},
		{"integer minimum", withC(integer, Constraints{Minimum: "0"}), dflt, "-1", Value{Kind: KindInteger, Text: "-1", Int: -1, Float: -1}, `"-1" is less than the minimum 0`},
		{"integer enum compares values", withC(integer, Constraints{Enum: []string{"1", "2"}}), dflt, "01", Value{Kind: KindInteger, Text: "01", Int: 1, Float: 1}, ""},
		{"empty integer is missing", integer, dflt, "", Value{Kind: KindMissing}, ""},
		{"empty integer without missing values", integer, nil, "", Value{Kind: KindString}, `"" is not an integer`},

		// Numbers.
		{"half a patient", number, dflt, "0.5", Value{Kind: KindNumber, Text: "0.5", Float: 0.5}, ""},
		{"half-unit", number, dflt, "32.5", Value{Kind: KindNumber, Text: "32.5", Float: 32.5}, ""},
		{"whole number", number, dflt, "12", Value{Kind: KindNumber, Text: "12", Float: 12}, ""},
		{"negative with exponent", number, dflt, "-1.25e3", Value{Kind: KindNumber, Text: "-1.25e3", Float: -1250}, ""},
		{"exponent", number, dflt, "1E6", Value{Kind: KindNumber, Text: "1E6", Float: 1e6}, ""},
		{"leading point", number, dflt, ".5", Value{Kind: KindNumber, Text: ".5", Float: 0.5}, ""},
		{"not a number", number, dflt, "12x", Value{Kind: KindString, Text: "12x"}, `"12x" is not a number`},
		{"NaN", number, dflt, "NaN", Value{Kind: KindString, Text: "NaN"}, `"NaN" is not a number`},
		{"Inf", number, dflt, "Inf", Value{Kind: KindString, Text: "Inf"}, `"Inf" is not a number`},
		{"infinity", number, dflt, "-Infinity", Value{Kind: KindString, Text: "-Infinity"}, "is not a number"},
		{"hex", number, dflt, "0x10", Value{Kind: KindString, Text: "0x10"}, "is not a number"},
		{"underscore", number, dflt, "1_000", Value{Kind: KindString, Text: "1_000"}, "is not a number"},
		{"leading space", number, dflt, " 1.5", Value{Kind: KindString, Text: " 1.5"}, `" 1.5" is not a number (it has leading or trailing spaces)`},
		{"trailing space", number, dflt, "1.5 ", Value{Kind: KindString, Text: "1.5 "}, "is not a number"},
		{"lone point", number, dflt, ".", Value{Kind: KindString, Text: "."}, "is not a number"},
		{"lone exponent", number, dflt, "1e", Value{Kind: KindString, Text: "1e"}, "is not a number"},
		{"too large", number, dflt, "1e400", Value{Kind: KindString, Text: "1e400"}, "out of range"},
		{"number maximum", withC(number, Constraints{Maximum: "100"}), dflt, "100.5", Value{Kind: KindNumber, Text: "100.5", Float: 100.5}, `"100.5" is more than the maximum 100`},
		{"suppressed", total, dflt, "*", Value{Kind: KindSuppressed, Text: "*"}, ""},
		{"suppressed in a required field", required(total), dflt, "*", Value{Kind: KindSuppressed, Text: "*"}, ""},
		{"dash as missing", total, []string{"", "-"}, "-", Value{Kind: KindMissing, Text: "-"}, ""},
		{"empty not missing when not declared", total, []string{"-"}, "", Value{Kind: KindString}, `"" is not a number`},
		{"missing in a required field", required(total), []string{"", "-"}, "-", Value{Kind: KindMissing, Text: "-"}, `"-" is a missing value, but the field is required`},
		{"other marker is not suppressed", total, dflt, "**", Value{Kind: KindString, Text: "**"}, "is not a number"},

		// Dates.
		{"ISO date", isoDate, dflt, "2025-02-28", Value{Kind: KindDate, Text: "2025-02-28", Time: date(2025, 2, 28)}, ""},
		{"ISO leap day", isoDate, dflt, "2024-02-29", Value{Kind: KindDate, Text: "2024-02-29", Time: date(2024, 2, 29)}, ""},
		{"ISO not a leap year", isoDate, dflt, "2025-02-29", Value{Kind: KindString, Text: "2025-02-29"}, `"2025-02-29" is not a real date: February 2025 has 28 days`},
		{"ISO wrong format", isoDate, dflt, "28/02/2025", Value{Kind: KindString, Text: "28/02/2025"}, `"28/02/2025" is not a date in the format YYYY-MM-DD`},
		{"ISO with time", isoDate, dflt, "2025-02-28T00:00:00", Value{Kind: KindString, Text: "2025-02-28T00:00:00"}, "is not a date"},
		{"compact date", ymd, dflt, "20241101", Value{Kind: KindDate, Text: "20241101", Time: date(2024, 11, 1)}, ""},
		{"compact impossible date", ymd, dflt, "20250231", Value{Kind: KindString, Text: "20250231"}, `"20250231" is not a real date: February 2025 has 28 days`},
		{"compact month 13", ymd, dflt, "20251301", Value{Kind: KindString, Text: "20251301"}, "there is no month 13"},
		{"compact day 0", ymd, dflt, "20250100", Value{Kind: KindString, Text: "20250100"}, "not a real date"},
		{"compact too short", ymd, dflt, "2025011", Value{Kind: KindString, Text: "2025011"}, "is not a date in the format %Y%m%d"},
		{"compact too long", ymd, dflt, "202501011", Value{Kind: KindString, Text: "202501011"}, "is not a date in the format %Y%m%d"},
		{"British date", dmy, dflt, "31/12/2024", Value{Kind: KindDate, Text: "31/12/2024", Time: date(2024, 12, 31)}, ""},
		{"British date single digits", dmy, dflt, "1/2/2024", Value{Kind: KindString, Text: "1/2/2024"}, "is not a date in the format %d/%m/%Y"},
		{"British 31 April", dmy, dflt, "31/04/2024", Value{Kind: KindString, Text: "31/04/2024"}, "April 2024 has 30 days"},
		{"month name and short year", dby, dflt, "05-Jan-24", Value{Kind: KindDate, Text: "05-Jan-24", Time: date(2024, 1, 5)}, ""},
		{"month name upper case, last century", dby, dflt, "05-JAN-99", Value{Kind: KindDate, Text: "05-JAN-99", Time: date(1999, 1, 5)}, ""},
		{"unknown month name", dby, dflt, "05-Jnu-24", Value{Kind: KindString, Text: "05-Jnu-24"}, "is not a date"},
		{"date and time", stamp, dflt, "2024-03-01 13:45:07", Value{Kind: KindDate, Text: "2024-03-01 13:45:07", Time: time.Date(2024, 3, 1, 13, 45, 7, 0, time.UTC)}, ""},
		{"hour 24", stamp, dflt, "2024-03-01 24:00:00", Value{Kind: KindString, Text: "2024-03-01 24:00:00"}, "not a real time of day"},
		{"literal percent", pct, dflt, "20240301%", Value{Kind: KindDate, Text: "20240301%", Time: date(2024, 3, 1)}, ""},
		{"date minimum", withC(ymd, Constraints{Minimum: "20200101"}), dflt, "20191231", Value{Kind: KindDate, Text: "20191231", Time: date(2019, 12, 31)}, "less than the minimum 20200101"},
		{"empty date is missing", ymd, dflt, "", Value{Kind: KindMissing}, ""},

		// Years, months and periods.
		{"year", year, dflt, "2024", Value{Kind: KindYear, Text: "2024", Int: 2024}, ""},
		{"two-digit year", year, dflt, "24", Value{Kind: KindString, Text: "24"}, `"24" is not a year`},
		{"five-digit year", year, dflt, "20245", Value{Kind: KindString, Text: "20245"}, "is not a year"},
		{"year month", ym, dflt, "2024-03", Value{Kind: KindYearMonth, Text: "2024-03", Time: date(2024, 3, 1)}, ""},
		{"year month 13", ym, dflt, "2024-13", Value{Kind: KindString, Text: "2024-13"}, "there is no month 13"},
		{"year month single digit", ym, dflt, "2024-3", Value{Kind: KindString, Text: "2024-3"}, "is not a year and month"},
		{"period", period, dflt, "2022/23", Value{Kind: KindPeriod, Text: "2022/23", Int: 2022}, ""},
		{"period across a century", period, dflt, "1999/00", Value{Kind: KindPeriod, Text: "1999/00", Int: 1999}, ""},
		{"period not consecutive", period, dflt, "2022/24", Value{Kind: KindString, Text: "2022/24"}, `"2022/24" is not a period: 24 is not the year after 2022`},
		{"period with hyphen, default format", period, dflt, "2018-19", Value{Kind: KindString, Text: "2018-19"}, "is not a period like 2022/23"},
		{"period with full second year", period, dflt, "2022/2023", Value{Kind: KindString, Text: "2022/2023"}, "is not a period"},
		{"hyphenated period", hyphen, dflt, "2018-19", Value{Kind: KindPeriod, Text: "2018-19", Int: 2018}, ""},
		{"hyphenated period given a slash", hyphen, dflt, "2018/19", Value{Kind: KindString, Text: "2018/19"}, "is not a period like 2018-19"},
		{"period minimum", withC(period, Constraints{Minimum: "2020/21"}), dflt, "2019/20", Value{Kind: KindPeriod, Text: "2019/20", Int: 2019}, "less than the minimum 2020/21"},

		// Booleans.
		{"default true", boolean, dflt, "TRUE", Value{Kind: KindBoolean, Text: "TRUE", Bool: true}, ""},
		{"default false", boolean, dflt, "0", Value{Kind: KindBoolean, Text: "0"}, ""},
		{"yes is not a default", boolean, dflt, "yes", Value{Kind: KindString, Text: "yes"}, `"yes" is not a boolean`},
		{"custom true", yn, dflt, "Y", Value{Kind: KindBoolean, Text: "Y", Bool: true}, ""},
		{"custom false", yn, dflt, "N", Value{Kind: KindBoolean, Text: "N"}, ""},
		{"default not accepted with custom values", yn, dflt, "true", Value{Kind: KindString, Text: "true"}, "is not a boolean"},

		// A field that is not valid.
		{"unsupported type", Field{Name: "t", Type: "datetime"}, dflt, "x", Value{Kind: KindString, Text: "x"}, `invalid field "t": type: "datetime" is not a supported type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.field.Parse(tt.text, tt.missing)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Parse(%q): got error %q, want none", tt.text, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Parse(%q): got no error, want %q", tt.text, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Parse(%q): got error %q, want it to contain %q", tt.text, err, tt.wantErr)
			}
			if !equalValue(got, tt.want) {
				t.Errorf("Parse(%q): got %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func equalValue(a, b Value) bool {
	return a.Kind == b.Kind && a.Text == b.Text && a.Int == b.Int && a.Float == b.Float && a.Time.Equal(b.Time) && a.Bool == b.Bool
}

func TestParseMessageShortensLongCells(t *testing.T) {
	long := strings.Repeat("9", 500) + "x"
	_, err := Field{Name: "n", Type: TypeInteger}.Parse(long, nil)
	if err == nil {
		t.Fatal("got no error")
	}
	if n := len(err.Error()); n > 120 {
		t.Errorf("message has %d bytes, want it shortened: %s", n, err)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindMissing: "missing", KindSuppressed: "suppressed", KindPeriod: "period", KindBoolean: "boolean", Kind(99): "Kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String(): got %q, want %q", int(k), got, want)
		}
	}
}

// ParseDecimal's shortcut for plain integers gives exactly what the
// general parse gives, sign of zero included.
func TestParseDecimalShortcutAgrees(t *testing.T) {
	cases := []string{"0", "-0", "007", "-007", "1", "-1", "999999999999999", "-999999999999999", "1234567890123456",
		"+5", "1.0", "-", "", "1e3", "12a", "٣"}
	for i := 0; i < 2000; i++ {
		cases = append(cases, strconv.FormatInt(int64(i*i*7919-1_000_000), 10))
	}
	for _, c := range cases {
		got, ok := ParseDecimal(c)
		want, err := strconv.ParseFloat(c, 64)
		wantOK := err == nil && isDecimal(c)
		if ok != wantOK || ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Errorf("ParseDecimal(%q) = %v, %v; the general parse gives %v, %v", c, got, ok, want, wantOK)
		}
	}
}
