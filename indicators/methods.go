package indicators

import (
	"errors"
	"math"
	"sort"
)

// The methods of PHE's indicator toolkit (PHEindicatormethods), as
// statistics.md B4 gives them. 95% and 99.8% limits use z = 1.959964 and
// 3.090232.
const (
	z95  = 1.959963984540054
	z998 = 3.090232306167813
)

var errNoInterval = errors.New("no interval for this method")

// limits returns the 95% and 99.8% limits of a group's value, in the
// indicator's unit: lower95, upper95, lower998, upper998.
func limits(d Definition, g *group) ([4]*float64, error) {
	var out [4]*float64
	pair := func(lo, hi float64, i int) { out[i], out[i+1] = fptr(lo), fptr(hi) }
	switch d.Method {
	case MethodWilson:
		if g.num < 0 || g.den <= 0 || g.num > g.den {
			return out, errors.New("the numerator must be from 0 to the denominator")
		}
		s := scaleOf(d)
		for i, z := range []float64{z95, z998} {
			lo, hi := wilson(g.num, g.den, z)
			pair(lo*s, hi*s, 2*i)
		}
	case MethodPoisson, MethodDSR:
		for i, conf := range []float64{0.95, 0.998} {
			lo, hi := poissonLimits(g.num, conf)
			pair(lo/g.den*d.PerN, hi/g.den*d.PerN, 2*i)
		}
	case MethodOERatio:
		if g.den <= 0 {
			return out, errors.New("the expected count must be positive")
		}
		for i, conf := range []float64{0.95, 0.998} {
			lo, hi := poissonLimits(g.num, conf)
			pair(lo/g.den, hi/g.den, 2*i)
		}
	case MethodMeanSD:
		// The lower field holds the standard deviation; the denominator
		// the number of individuals.
		if g.den <= 0 {
			return out, errors.New("no individuals")
		}
		se := g.lower / math.Sqrt(g.den)
		for i, z := range []float64{z95, z998} {
			pair(g.value-z*se, g.value+z*se, 2*i)
		}
	default:
		return out, nil
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

// poissonLimits are the limits of a count: exact Poisson below 10, Byar's
// from 10 (PHE's convention).
func poissonLimits(x, conf float64) (float64, float64) {
	z := z95
	if conf > 0.99 {
		z = z998
	}
	if x >= 10 {
		lo := x * math.Pow(1-1/(9*x)-z/(3*math.Sqrt(x)), 3)
		x1 := x + 1
		hi := x1 * math.Pow(1-1/(9*x1)+z/(3*math.Sqrt(x1)), 3)
		return math.Max(lo, 0), hi
	}
	alpha := 1 - conf
	return exactPoissonLower(x, alpha/2), exactPoissonUpper(x, alpha/2)
}

// poissonCDF is P(X ≤ k) for X ~ Poisson(mu), k a whole number ≥ 0.
func poissonCDF(k int, mu float64) float64 {
	term, sum := math.Exp(-mu), 0.0
	for i := 0; i <= k; i++ {
		if i > 0 {
			term *= mu / float64(i)
		}
		sum += term
	}
	return sum
}

// exactPoissonLower is the mean mu with P(X ≥ x) = tail; 0 for x = 0.
// (Equivalently χ²_{tail; 2x}/2.) Counts are rounded to whole numbers.
func exactPoissonLower(x, tail float64) float64 {
	k := int(math.Round(x))
	if k <= 0 {
		return 0
	}
	return bisect(func(mu float64) float64 { return 1 - poissonCDF(k-1, mu) - tail }, 0, float64(k)+50)
}

// exactPoissonUpper is the mean mu with P(X ≤ x) = tail (χ²_{1−tail; 2x+2}/2).
func exactPoissonUpper(x, tail float64) float64 {
	k := int(math.Round(x))
	return bisect(func(mu float64) float64 { return tail - poissonCDF(k, mu) }, 0, float64(k)+60)
}

// bisect finds a root of an increasing f in [lo, hi].
func bisect(f func(float64) float64, lo, hi float64) float64 {
	for i := 0; i < 200 && hi-lo > 1e-12*math.Max(1, hi); i++ {
		mid := (lo + hi) / 2
		if f(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
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

// quintiles assigns PHE quintiles (phe_quantile, invert = TRUE: the highest
// value in quintile 1; ties take the minimum rank).
func quintiles(values []float64) []int {
	n := len(values)
	const q = 5
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	// Rank on (max − value): the highest value ranks 1.
	sort.SliceStable(order, func(a, b int) bool { return values[order[a]] > values[order[b]] })
	rank := make([]int, n)
	for pos, i := range order {
		if pos > 0 && values[i] == values[order[pos-1]] {
			rank[i] = rank[order[pos-1]]
		} else {
			rank[i] = pos + 1
		}
	}
	out := make([]int, n)
	for i := range values {
		v := int(math.Floor(float64(q+1) - math.Ceil((float64(n+1)-float64(rank[i]))/(float64(n)/q))))
		if v < 1 {
			v = 1
		}
		out[i] = v
	}
	return out
}
