package indicators

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// within checks got against want: to half a unit in the last printed place
// when want is printed with fewer than 10 significant digits (as written
// in printed), else to a relative 1e-6 (statistics.md's rule).
func within(t *testing.T, name string, got float64, printed string) {
	t.Helper()
	want, places := parsePrinted(printed)
	tol := 1e-6 * math.Abs(want)
	if places >= 0 && significant(printed) < 10 {
		tol = 0.5 * math.Pow(10, -float64(places))
	}
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %s (±%g)", name, got, printed, tol)
	}
}

func parsePrinted(s string) (float64, int) {
	var v float64
	if _, err := fmtSscan(s, &v); err != nil {
		panic(s)
	}
	places := -1
	for i, c := range s {
		if c == '.' {
			places = len(s) - i - 1
		}
	}
	if places < 0 {
		places = 0
	}
	return v, places
}

func significant(s string) int {
	n, started := 0, false
	for _, c := range s {
		if c >= '1' && c <= '9' {
			started = true
		}
		if started && c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

func TestTV1to3Wilson(t *testing.T) {
	for _, c := range []struct {
		name       string
		x, n, conf float64
		lo, hi     string
	}{
		{"TV-1 95%", 65, 100, 0.95, "0.5525444329688797", "0.7363575175690247"},
		{"TV-1 99.8%", 65, 100, 0.998, "0.4954946574070431", "0.7783540614089697"},
		{"TV-2 1/100 95%", 1, 100, 0.95, "0.0017674321", "0.0544861962"},
		{"TV-2 1/100 99.8%", 1, 100, 0.998, "0.0008730657", "0.1045544528"},
		{"TV-2 5/100", 5, 100, 0.95, "0.0215436792", "0.1117504692"},
		{"TV-2 20/100", 20, 100, 0.95, "0.1333669333", "0.2888291656"},
		{"TV-2 9856/12345", 9856, 12345, 0.95, "0.7912101753", "0.8053640074"},
		{"TV-2 0.445/1", 0.445, 1, 0.95, "0.0438174477", "0.9334621277"},
		{"TV-3 95%", 10, 100, 0.95, "0.0552291371", "0.1743656615"},
		{"TV-3 99.8%", 10, 100, 0.998, "0.0396781027", "0.2300586471"},
		{"TV-3 0/100", 0, 100, 0.95, "0", "0.0369934982"},
	} {
		iv, err := Wilson(c.x, c.n, c.conf)
		if err != nil {
			t.Fatal(err)
		}
		within(t, c.name+" lower", iv.Lower, c.lo)
		within(t, c.name+" upper", iv.Upper, c.hi)
	}
	within(t, "TV-2 9856/12345 value", 9856.0/12345, "0.7983799109")
	for _, bad := range [][2]float64{{-1, 10}, {11, 10}, {1, 0}} {
		if _, err := Wilson(bad[0], bad[1], 0.95); !errors.Is(err, ErrInput) {
			t.Errorf("Wilson(%v): %v", bad, err)
		}
	}
}

func TestTV4to7Counts(t *testing.T) {
	for _, c := range []struct {
		name   string
		x      float64
		conf   float64
		lo, hi string
	}{
		{"TV-4 65", 65, 0.95, "50.163187710459454", "82.849138545939837"},
		{"TV-4 1045", 1045, 0.95, "982.5932018073326", "1110.33121298565"},
		{"TV-4 1", 1, 0.95, "0.01307213290", "5.5637555825"},
		{"TV-4 65 99.8%", 65, 0.998, "42.880261471480203", "94.000290844318016"},
		{"TV-4 10 99.8%", 10, 0.998, "2.916318374695686", "24.193724927880535"},
	} {
		iv := Byars(c.x, c.conf)
		within(t, c.name+" lower", iv.Lower, c.lo)
		within(t, c.name+" upper", iv.Upper, c.hi)
	}
	within(t, "TV-4 1 upper 99.8%", Byars(1, 0.998).Upper, "9.362180217908362")
	iv, method := CountInterval(5, 0.95)
	if method != "Exact" {
		t.Errorf("TV-5: method %s", method)
	}
	within(t, "TV-5 lower", iv.Lower, "1.62348639011842")
	within(t, "TV-5 upper", iv.Upper, "11.668332079322669")
	b := Byars(5, 0.95)
	within(t, "TV-5 Byar's lower", b.Lower, "1.6113477")
	within(t, "TV-5 Byar's upper", b.Upper, "11.6681641")
	e := ExactPoisson(1, 0.95)
	within(t, "TV-6 1 lower", e.Lower, "0.025317807984289897")
	within(t, "TV-6 1 upper", e.Upper, "5.571643390938898")
	e = ExactPoisson(1, 0.998)
	within(t, "TV-6 1 lower 99.8%", e.Lower, "0.0010005003")
	within(t, "TV-6 1 upper 99.8%", e.Upper, "9.2334134765")
	within(t, "TV-6 0 upper", ExactPoisson(0, 0.95).Upper, "3.6888794541")
	for _, c := range []struct {
		x, n       float64
		v, lo, hi  string
		wantMethod string
	}{
		{20, 100, "20000", "12211.4288", "30889.8804", "Byars"},
		{222, 3215, "6905.1322", "6026.5749", "7875.7294", "Byars"},
		{250, 220, "113636.36", "99984.9474", "128631.1449", "Byars"},
	} {
		v, iv, m, err := Rate(c.x, c.n, 100000, 0.95)
		if err != nil || m != c.wantMethod {
			t.Fatalf("TV-7 %v/%v: %v %s", c.x, c.n, err, m)
		}
		within(t, "TV-7 value", v, c.v)
		within(t, "TV-7 lower", iv.Lower, c.lo)
		within(t, "TV-7 upper", iv.Upper, c.hi)
	}
}

var tv8Pops = []float64{636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123, 207}

func TestTV8DSR(t *testing.T) {
	big := []float64{127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91}
	v, iv, err := DSR(big, tv8Pops, ESP2013, 100000, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "TV-8 big DSR", v, "10430.2480")
	within(t, "TV-8 big lower", iv.Lower, "9717.7091")
	within(t, "TV-8 big upper", iv.Upper, "11178.9409")
	_, iv, _ = DSR(big, tv8Pops, ESP2013, 100000, 0.998)
	within(t, "TV-8 big lower 99.8%", iv.Lower, "9323.2879")
	within(t, "TV-8 big upper 99.8%", iv.Upper, "11620.5960")
	small := []float64{12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4}
	v, iv, _ = DSR(small, tv8Pops, ESP2013, 100000, 0.95)
	within(t, "TV-8 small DSR", v, "1103.2120")
	within(t, "TV-8 small lower", iv.Lower, "877.4558")
	within(t, "TV-8 small upper", iv.Upper, "1367.0882")
	tiny := make([]float64, 19)
	tiny[0], tiny[5], tiny[10] = 3, 3, 3
	if _, _, err := DSR(tiny, tv8Pops, ESP2013, 100000, 0.95); !errors.Is(err, ErrTooFewEvents) {
		t.Errorf("TV-8 tiny (O = 9): %v, want not calculated", err)
	}
}

func TestTV9SMR(t *testing.T) {
	smr, iv, _ := SMR(895, 835.8835612, 0.95)
	within(t, "TV-9 SMR", smr, "1.0707233")
	within(t, "TV-9 lower", iv.Lower, "1.0017148")
	within(t, "TV-9 upper", iv.Upper, "1.1432333")
	_, iv, _ = SMR(895, 835.8835612, 0.998)
	within(t, "TV-9 lower 99.8%", iv.Lower, "0.9635156")
	within(t, "TV-9 upper 99.8%", iv.Upper, "1.1860070")
	// ISR = SMR × the reference rate.
	_, iv95, _ := SMR(895, 835.8835612, 0.95)
	within(t, "TV-9 ISR", smr*9349.88309, "10011.1376")
	within(t, "TV-9 ISR lower", iv95.Lower*9349.88309, "9365.9160")
	within(t, "TV-9 ISR upper", iv95.Upper*9349.88309, "10689.0976")
	// Small (O = 91) and tiny (O = 9, exact) data. The reference does not
	// give their E, so it is recovered from the printed SMR (O/E), whose 7
	// and 6 significant digits carry a relative error of up to 5e-7 and
	// 5e-6 into every limit: the tolerance is that, not the print's.
	rel := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s = %.10g, want %.10g (relative %g)", name, got, want, tol)
		}
	}
	_, iv, _ = SMR(91, 91/0.1088668, 0.95)
	rel("TV-9 small lower", iv.Lower, 0.0876504, 1e-6)
	rel("TV-9 small upper", iv.Upper, 0.1336658, 1e-6)
	_, iv, _ = SMR(9, 9/0.0107670, 0.95)
	rel("TV-9 tiny lower", iv.Lower, 0.00492338, 1e-5)
	rel("TV-9 tiny upper", iv.Upper, 0.02043921, 1e-5)
}

func TestTV13RatioFunnelLimits(t *testing.T) {
	n := NormalRatioLimits(20)
	within(t, "TV-13 normal 95% lower", n.Lower95, "0.561739")
	within(t, "TV-13 normal 95% upper", n.Upper95, "1.438261")
	within(t, "TV-13 normal 99.8% lower", n.Lower998, "0.309003")
	within(t, "TV-13 normal 99.8% upper", n.Upper998, "1.690997")
	l := LogRatioLimits(20, 0)
	within(t, "TV-13 log 95% lower", l.Lower95, "0.645157")
	within(t, "TV-13 log 95% upper", l.Upper95, "1.550010")
	within(t, "TV-13 log 99.8% lower", l.Lower998, "0.501076")
	within(t, "TV-13 log 99.8% upper", l.Upper998, "1.995704")
	within(t, "TV-13 exact 2.5%", ExactRatioLimit(20, 0.025), "0.560250")
	within(t, "TV-13 exact 97.5%", ExactRatioLimit(20, 0.975), "1.437288")
	within(t, "TV-13 exact 0.1%", ExactRatioLimit(20, 0.001), "0.358459")
	within(t, "TV-13 exact 99.9%", ExactRatioLimit(20, 0.999), "1.735676")
}

func TestTV14Overdispersion(t *testing.T) {
	o := []float64{100, 150, 180, 80, 120, 225}
	e := []float64{108, 112, 165, 95, 100, 220}
	od, err := EstimateOverdispersion(o, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "TV-14 φ", od.Phi, "2.948033")
	within(t, "TV-14 τ²", od.Tau2, "0.0194775")
	l := LogRatioLimits(100, od.Tau2)
	within(t, "TV-14 OD 95% lower", l.Lower95, "0.714261")
	within(t, "TV-14 OD 95% upper", l.Upper95, "1.400048")
	within(t, "TV-14 OD 99.8% lower", l.Lower998, "0.588274")
	within(t, "TV-14 OD 99.8% upper", l.Upper998, "1.699888")
	s := math.Sqrt(od.Phi / 100)
	within(t, "TV-14 multiplicative 95% lower", 1-z95*s, "0.663477")
	within(t, "TV-14 multiplicative 99.8% upper", 1+z998*s, "1.530588")
}

func TestTV15Quantiles(t *testing.T) {
	eq := func(name string, got, want []int) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s = %v, want %v", name, got, want)
				return
			}
		}
	}
	oneToTen := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	eq("TV-15 invert = FALSE", Quantiles(oneToTen, 5, false), []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5})
	eq("TV-15 invert = TRUE", Quantiles(oneToTen, 5, true), []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1})
	eq("TV-15 ties", Quantiles([]float64{5, 5, 5, 1, 2, 3, 4, 6, 7, 8}, 5, false), []int{3, 3, 3, 1, 1, 2, 2, 4, 5, 5})
}

func TestTV23Comparison(t *testing.T) {
	iv95, _ := Wilson(65, 100, 0.95)
	iv998, _ := Wilson(65, 100, 0.998)
	for _, c := range []struct {
		iv    Interval
		bench float64
		p     Polarity
		want  Comparison
	}{
		{iv95, 0.60, HigherIsBetter, Similar}, {iv998, 0.60, HigherIsBetter, Similar},
		{iv95, 0.50, HigherIsBetter, Better}, {iv95, 0.50, NoJudgement, Higher}, {iv998, 0.50, HigherIsBetter, Similar},
		{iv95, 0.50, LowerIsBetter, Worse},
	} {
		if got := Compare(c.iv, c.bench, c.p); got != c.want {
			t.Errorf("TV-23 (%v vs %v, %s) = %s, want %s", c.iv, c.bench, c.p, got, c.want)
		}
	}
}

func TestTV25Composite(t *testing.T) {
	cols := [][]float64{{80, 70, 90}, {5, 3, 4}}
	pol := []Polarity{HigherIsBetter, LowerIsBetter}
	z, err := Composite(cols, pol, nil, ZScore)
	if err != nil {
		t.Fatal(err)
	}
	mm, _ := Composite(cols, pol, nil, MinMax)
	for i, want := range []struct{ z, mm string }{{"-0.5", "0.25"}, {"0.0", "0.5"}, {"0.5", "0.75"}} {
		within(t, "TV-25 z-score composite", z[i], want.z)
		within(t, "TV-25 min-max composite", mm[i], want.mm)
	}
}

func TestRecentTrend(t *testing.T) {
	lo := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x - 2
		}
		return out
	}
	hi := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x + 2
		}
		return out
	}
	rising := []float64{60, 63, 66, 69, 72}
	if got, _ := RecentTrend(rising, lo(rising), hi(rising), false); got != TrendIncreasing {
		t.Errorf("rising: %s", got)
	}
	falling := []float64{72, 69, 66, 63, 60}
	if got, _ := RecentTrend(falling, lo(falling), hi(falling), false); got != TrendDecreasing {
		t.Errorf("falling: %s", got)
	}
	flat := []float64{65, 66, 65, 66, 65}
	if got, _ := RecentTrend(flat, lo(flat), hi(flat), false); got != TrendNoChange {
		t.Errorf("flat: %s", got)
	}
	if got, why := RecentTrend(rising, lo(rising), hi(rising), true); got != TrendNotComputed || why == "" {
		t.Errorf("overlapping periods: %s %q", got, why)
	}
	if got, _ := RecentTrend(rising[:4], lo(rising[:4]), hi(rising[:4]), false); got != TrendNotComputed {
		t.Errorf("four points: %s", got)
	}
	// One outlying point drives the slope: leaving it out reverses it.
	outlier := []float64{60, 59, 58, 57, 90}
	narrow := []float64{59.9, 58.9, 57.9, 56.9, 89.9}
	wide := []float64{60.1, 59.1, 58.1, 57.1, 90.1}
	if got, why := RecentTrend(outlier, narrow, wide, false); got != TrendNoChange || why == "" {
		t.Errorf("outlier: %s %q", got, why)
	}
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }

func TestFunnelPositionIsStrict(t *testing.T) {
	l := RatioLimits{Lower95: 0.8, Upper95: 1.2, Lower998: 0.7, Upper998: 1.3}
	for ratio, want := range map[float64]string{1.2: "within the limits", 1.21: "above the 95% limit", 1.3: "above the 95% limit",
		1.31: "above the 99.8% limit", 0.8: "within the limits", 0.79: "below the 95% limit", 0.69: "below the 99.8% limit"} {
		if got := FunnelPosition(ratio, l); got != want {
			t.Errorf("FunnelPosition(%v) = %q, want %q", ratio, got, want)
		}
	}
}

func TestTV10ProportionFunnelLimits(t *testing.T) {
	n := NormalProportionLimits(0.1, 50)
	within(t, "TV-10 normal 95% lower", n.Lower95, "0.0168458")
	within(t, "TV-10 normal 95% upper", n.Upper95, "0.1831542")
	// The reference computed this with z = 3.090232 (six decimals); the
	// exact quantile moves the eighth digit, so compare to 1e-6 relative.
	if got := n.Upper998; math.Abs(got-0.2311074) > 1e-6*0.2311074 {
		t.Errorf("TV-10 normal 99.8%% upper = %v, want 0.2311074", got)
	}
	if n.Lower998 != 0 {
		t.Errorf("TV-10 normal 99.8%% lower = %v, want clipped to 0", n.Lower998)
	}
	within(t, "TV-10 exact 2.5%", ExactProportionLimit(0.1, 50, 0.025), "0.0138629")
	within(t, "TV-10 exact 97.5%", ExactProportionLimit(0.1, 50, 0.975), "0.1797227")
	within(t, "TV-10 exact 99.9%", ExactProportionLimit(0.1, 50, 0.999), "0.2401284")
	if got := ExactProportionLimit(0.1, 50, 0.001); got != 0 {
		t.Errorf("TV-10 exact 0.1%% = %v, want clipped to 0", got)
	}
	a := ArcsineProportionLimits(0.1, 50, 0)
	within(t, "TV-10 arcsine 95% lower", a.Lower95, "0.0331742")
	within(t, "TV-10 arcsine 95% upper", a.Upper95, "0.1973612")
	within(t, "TV-10 arcsine 99.8% lower", a.Lower998, "0.0106203")
	within(t, "TV-10 arcsine 99.8% upper", a.Upper998, "0.2645678")
}

func TestClassificationOnALimit(t *testing.T) {
	// A unit exactly on a limit is not beyond it (strict comparisons).
	for _, c := range []struct {
		v     float64
		level string
		high  bool
	}{{0.2, "within", false}, {0.2000001, "alert", true}, {0.3, "alert", true}, {0.31, "alarm", true},
		{0.05, "within", false}, {0.049, "alert", false}, {0.0, "alert", false}, {-0.01, "alarm", false}} {
		level, high := Classification(c.v, 0.05, 0.2, 0, 0.3)
		if level != c.level || high != c.high {
			t.Errorf("Classification(%v) = %s %v, want %s %v", c.v, level, high, c.level, c.high)
		}
	}
}

func TestTV12ChiSquareRatioLimits(t *testing.T) {
	for _, c := range []struct {
		e                        float64
		lo95, hi95, lo998, hi998 string
	}{
		{15, "0.5596924", "1.649348", "0.3862650", "2.082907"},
		{20, "0.6108260", "1.544419", "0.4479107", "1.902094"},
		{30, "0.6746958", "1.427562", "0.5289724", "1.702771"},
	} {
		l := ChiSquareRatioLimits(c.e)
		within(t, fmt.Sprintf("TV-12 E=%v 95%% lower", c.e), l.Lower95, c.lo95)
		within(t, fmt.Sprintf("TV-12 E=%v 95%% upper", c.e), l.Upper95, c.hi95)
		within(t, fmt.Sprintf("TV-12 E=%v 99.8%% lower", c.e), l.Lower998, c.lo998)
		within(t, fmt.Sprintf("TV-12 E=%v 99.8%% upper", c.e), l.Upper998, c.hi998)
	}
}
