package indicators

import (
	"errors"
	"math"
)

// The methods of PHE's indicator toolkit (PHEindicatormethods), as
// statistics.md B4 gives them. 95% and 99.8% limits use z = 1.959964 and
// 3.090232.
const (
	z95  = 1.959963984540054
	z998 = 3.090232306167813
)

// limits returns the 95% and 99.8% limits of a group's value, in the
// indicator's unit: lower95, upper95, lower998, upper998.
func limits(d Definition, g *group) ([4]*float64, error) {
	var out [4]*float64
	for i, conf := range []float64{0.95, 0.998} {
		var iv Interval
		switch d.Method {
		case MethodWilson:
			w, err := Wilson(g.num, g.den, conf)
			if err != nil {
				return out, errors.New("the numerator must be from 0 to the denominator")
			}
			s := scaleOf(d)
			iv = Interval{w.Lower * s, w.Upper * s}
		case MethodDSR:
			counts, pops := splitBands(g.bands)
			_, r, err := DSR(counts, pops, ESP2013, d.PerN, conf)
			if err != nil {
				return out, err
			}
			iv = r
		case MethodPoisson:
			_, r, _, err := Rate(g.num, g.den, d.PerN, conf)
			if err != nil {
				return out, err
			}
			iv = r
		case MethodOERatio:
			_, r, err := SMR(g.num, g.den, conf)
			if err != nil {
				return out, errors.New("the expected count must be positive")
			}
			iv = r
		case MethodMeanSD:
			// The lower field holds the standard deviation; the
			// denominator the number of individuals. The interval uses
			// Student's t on n − 1 degrees of freedom, as PHE's phe_mean
			// does, for every n (MeanInterval).
			if g.den < 2 {
				return out, errors.New("fewer than two individuals")
			}
			m, err := MeanInterval(g.value, g.lower, g.den, conf)
			if err != nil {
				return out, errors.New("the mean and its standard deviation must be numbers, the standard deviation at least 0")
			}
			iv = m
		default:
			return out, nil
		}
		out[2*i], out[2*i+1] = fptr(iv.Lower), fptr(iv.Upper)
	}
	return out, nil
}

// wilson is the Wilson score interval for x of n.
func wilson(x, n, z float64) (float64, float64) {
	p := x / n
	z2 := z * z
	root := z * math.Sqrt(z2+4*x*(1-p))
	return (2*x + z2 - root) / (2 * (n + z2)), (2*x + z2 + root) / (2 * (n + z2))
}

// compare places a 95% interval against a benchmark value, through
// polarity (statistics.md B4): entirely above is higher, entirely below
// lower, otherwise similar.
func compare(lo, hi, bench float64, p Polarity) Comparison {
	switch {
	case lo > bench:
		switch p {
		case HigherIsBetter:
			return Better
		case LowerIsBetter:
			return Worse
		}
		return Higher
	case hi < bench:
		switch p {
		case HigherIsBetter:
			return Worse
		case LowerIsBetter:
			return Better
		}
		return Lower
	}
	return Similar
}
