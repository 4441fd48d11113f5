package disclosure

import (
	"errors"
	"math"
)

// A small dense bounded-variable primal simplex, used for the audit's
// linear-programming bound when a component is too large for exact search:
// minimise or maximise one variable subject to A·x = b and lo ≤ x ≤ hi (hi
// may be +Inf). Variables are shifted to 0 ≤ y ≤ hi − lo; phase 1 drives
// artificial variables out, and every later objective starts from the
// previous optimum (which stays feasible).

const (
	lpTol      = 1e-9
	lpFeasTol  = 1e-7
	lpMaxIters = 200000
)

var (
	errLPInfeasible = errors.New("linear programme infeasible")
	errLPIterations = errors.New("linear programme iteration limit")
)

type simplex struct {
	m, n, cols int         // rows, structural variables, all columns (n + m artificials)
	t          [][]float64 // m × cols: B⁻¹·[A | I]
	beta       []float64   // values of the basic variables (shifted)
	basis      []int
	row        []int // row of a basic variable, −1 if nonbasic
	atUpper    []bool
	up         []float64 // shifted upper bounds
	lo         []float64 // original lower bounds of the structural variables
	d          []float64 // reduced costs
	cost       []float64
}

// newSimplex sets up A·x = b, lo ≤ x ≤ hi and finds a feasible basis.
func newSimplex(a [][]float64, b, lo, hi []float64) (*simplex, error) {
	m, n := len(a), len(lo)
	s := &simplex{m: m, n: n, cols: n + m, lo: lo}
	s.t = make([][]float64, m)
	s.beta = make([]float64, m)
	s.basis = make([]int, m)
	s.row = make([]int, s.cols)
	s.atUpper = make([]bool, s.cols)
	s.up = make([]float64, s.cols)
	for j := 0; j < n; j++ {
		s.up[j] = hi[j] - lo[j]
		s.row[j] = -1
	}
	for i := 0; i < m; i++ {
		r := make([]float64, s.cols)
		copy(r, a[i])
		rhs := b[i]
		for j := 0; j < n; j++ {
			rhs -= a[i][j] * lo[j]
		}
		if rhs < 0 {
			for j := 0; j < n; j++ {
				r[j] = -r[j]
			}
			rhs = -rhs
		}
		r[n+i] = 1
		s.t[i] = r
		s.beta[i] = rhs
		s.basis[i] = n + i
		s.row[n+i] = i
		s.up[n+i] = math.Inf(1)
	}
	// Phase 1: minimise the sum of the artificials.
	s.cost = make([]float64, s.cols)
	for i := 0; i < m; i++ {
		s.cost[n+i] = 1
	}
	if err := s.optimise(); err != nil {
		return nil, err
	}
	sum := 0.0
	scale := 1.0
	for i := 0; i < m; i++ {
		if s.basis[i] >= n {
			sum += s.beta[i]
		}
		scale = math.Max(scale, math.Abs(b[i]))
	}
	if sum > lpFeasTol*scale {
		return nil, errLPInfeasible
	}
	// Fix the artificials at zero and pivot them out of the basis where a
	// structural column allows.
	for i := 0; i < m; i++ {
		s.up[n+i] = 0
	}
	for i := 0; i < m; i++ {
		if s.basis[i] < n {
			continue
		}
		for j := 0; j < n; j++ {
			if s.row[j] < 0 && math.Abs(s.t[i][j]) > 1e-7 {
				val := 0.0
				if s.atUpper[j] {
					val = s.up[j]
				}
				old := s.basis[i]
				s.pivot(i, j)
				s.beta[i] = val
				s.atUpper[old] = false
				break
			}
		}
	}
	return s, nil
}

// value returns the current value of structural variable j.
func (s *simplex) value(j int) float64 {
	if r := s.row[j]; r >= 0 {
		return s.beta[r] + s.lo[j]
	}
	if s.atUpper[j] {
		return s.up[j] + s.lo[j]
	}
	return s.lo[j]
}

// pivot makes column k basic in row r.
func (s *simplex) pivot(r, k int) {
	old := s.basis[r]
	s.row[old] = -1
	s.basis[r] = k
	s.row[k] = r
	s.atUpper[k] = false
	pr := s.t[r]
	p := pr[k]
	for j := range pr {
		pr[j] /= p
	}
	pr[k] = 1
	for i := 0; i < s.m; i++ {
		if i == r {
			continue
		}
		f := s.t[i][k]
		if f == 0 {
			continue
		}
		ri := s.t[i]
		for j, x := range pr {
			if x != 0 {
				ri[j] -= f * x
			}
		}
		ri[k] = 0
	}
	if s.d != nil {
		f := s.d[k]
		if f != 0 {
			for j, x := range pr {
				if x != 0 {
					s.d[j] -= f * x
				}
			}
			s.d[k] = 0
		}
	}
}

// reducedCosts recomputes d for the current cost.
func (s *simplex) reducedCosts() {
	s.d = make([]float64, s.cols)
	copy(s.d, s.cost)
	for i := 0; i < s.m; i++ {
		c := s.cost[s.basis[i]]
		if c == 0 {
			continue
		}
		for j, x := range s.t[i] {
			if x != 0 {
				s.d[j] -= c * x
			}
		}
	}
}

// optimise minimises the current cost; errUnbounded says it has no
// minimum (the state is left feasible).
func (s *simplex) optimise() error {
	s.reducedCosts()
	degenerate, iters := 0, 0
	for {
		if iters++; iters > lpMaxIters {
			return errLPIterations
		}
		bland := degenerate > 50
		k, best := -1, 0.0
		for j := 0; j < s.cols; j++ {
			if s.row[j] >= 0 || s.up[j] <= lpTol {
				continue
			}
			dj := s.d[j]
			var gain float64
			switch {
			case !s.atUpper[j] && dj < -lpTol:
				gain = -dj
			case s.atUpper[j] && dj > lpTol:
				gain = dj
			default:
				continue
			}
			if bland {
				k = j
				break
			}
			if gain > best {
				k, best = j, gain
			}
		}
		if k < 0 {
			return nil
		}
		dir := 1.0
		if s.atUpper[k] {
			dir = -1
		}
		tmax := s.up[k]
		r := -1
		toUpper := false
		for i := 0; i < s.m; i++ {
			alpha := dir * s.t[i][k]
			var limit float64
			switch {
			case alpha > lpTol:
				limit = math.Max(s.beta[i], 0) / alpha
			case alpha < -lpTol:
				u := s.up[s.basis[i]]
				if math.IsInf(u, 1) {
					continue
				}
				limit = math.Max(u-s.beta[i], 0) / -alpha
			default:
				continue
			}
			if limit < tmax-1e-12 || r >= 0 && bland && limit <= tmax+1e-12 && s.basis[i] < s.basis[r] {
				tmax, r, toUpper = limit, i, alpha < 0
			}
		}
		if math.IsInf(tmax, 1) {
			return errUnbounded
		}
		if tmax <= 1e-12 {
			degenerate++
		} else {
			degenerate = 0
		}
		for i := 0; i < s.m; i++ {
			s.beta[i] -= dir * s.t[i][k] * tmax
		}
		if r < 0 {
			s.atUpper[k] = !s.atUpper[k]
			continue
		}
		leaving := s.basis[r]
		enter := tmax
		if dir < 0 {
			enter = s.up[k] - tmax
		}
		s.pivot(r, k)
		s.beta[r] = enter
		s.atUpper[leaving] = toUpper
	}
}

var errUnbounded = errors.New("unbounded")

// extreme returns the least (or greatest) value of structural variable j;
// +Inf when it has no greatest.
func (s *simplex) extreme(j int, maximise bool) (float64, error) {
	s.cost = make([]float64, s.cols)
	if maximise {
		s.cost[j] = -1
	} else {
		s.cost[j] = 1
	}
	err := s.optimise()
	if errors.Is(err, errUnbounded) {
		return math.Inf(1), nil
	}
	if err != nil {
		return 0, err
	}
	return s.value(j), nil
}
