// Package audit holds clinical audit outcomes by unit (hospital, clinical
// team, consultant) and, for the demo, a deterministic synthetic audit:
// no real team-level audit file is available, so one is generated from a
// seed, with fictional hospitals that cannot be mistaken for real ones and
// five planted high-outcome hospitals, so the funnel statistics have
// something real to find.
//
// It must not link synthetic units to real organisations, and it never
// decides what is public.
package audit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/candour/candour/indicators"
)

// Level is the level of a unit.
type Level string

// Levels.
const (
	Hospital   Level = "hospital"
	Team       Level = "team"
	Consultant Level = "consultant"
)

// Unit is one hospital, team or consultant's outcome in one period.
type Unit struct {
	Level    Level
	Code     string
	Name     string
	Parent   string // a consultant's team, a team's hospital
	Cases    int
	Observed int     // events
	Expected float64 // from the risk model
}

// Synthetic is a generated audit.
type Synthetic struct {
	Seed                          int64
	Hospitals, Teams, Consultants []Unit
	Planted                       []string // codes of the planted high-outcome hospitals
}

// The synthetic audit's design (issue: clinical audit outcomes).
const (
	nHospitals    = 150
	nTeams        = 400
	nConsultants  = 900
	baselineRate  = 0.10
	riskSlope     = 0.8 // log-odds per standard deviation of patient risk
	plantedOdds   = 2.5
	plantedCases  = 200
	plantedUnits  = 5
	medianCases   = 40
	casesSpread   = 0.9 // lognormal sigma: a long tail
	SyntheticNote = "Synthetic demonstration data: generated, not real patients, hospitals or clinicians."
)

func logit(p float64) float64    { return math.Log(p / (1 - p)) }
func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// GenerateSynthetic builds the synthetic audit for a seed; the same seed
// always gives the same audit.
func GenerateSynthetic(seed int64) Synthetic {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed_a0d17))
	s := Synthetic{Seed: seed}
	for i := 1; i <= nHospitals; i++ {
		s.Hospitals = append(s.Hospitals, Unit{Level: Hospital, Code: fmt.Sprintf("SYN-H%03d", i),
			Name: fmt.Sprintf("Synthetic Hospital %03d (demonstration)", i)})
	}
	for i := 1; i <= nTeams; i++ {
		h := (i - 1) % nHospitals
		if i > nHospitals {
			h = rng.IntN(nHospitals)
		}
		s.Teams = append(s.Teams, Unit{Level: Team, Code: fmt.Sprintf("SYN-T%03d", i),
			Name: fmt.Sprintf("Synthetic Team %03d (demonstration)", i), Parent: s.Hospitals[h].Code})
	}
	for i := 1; i <= nConsultants; i++ {
		t := (i - 1) % nTeams
		if i > nTeams {
			t = rng.IntN(nTeams)
		}
		cases := max(1, int(math.Round(math.Exp(math.Log(medianCases)+casesSpread*rng.NormFloat64()))))
		s.Consultants = append(s.Consultants, Unit{Level: Consultant, Code: fmt.Sprintf("SYN-C%03d", i),
			Name: fmt.Sprintf("Synthetic Consultant %03d (demonstration)", i), Parent: s.Teams[t].Code, Cases: cases})
	}
	// Plant five hospitals, each with exactly 200 cases spread over its
	// consultants.
	perm := rng.Perm(nHospitals)
	planted := map[string]bool{}
	for _, h := range perm[:plantedUnits] {
		planted[s.Hospitals[h].Code] = true
		s.Planted = append(s.Planted, s.Hospitals[h].Code)
	}
	hospitalOf := map[string]string{}
	for _, t := range s.Teams {
		hospitalOf[t.Code] = t.Parent
	}
	byHospital := map[string][]int{}
	for i, c := range s.Consultants {
		h := hospitalOf[c.Parent]
		byHospital[h] = append(byHospital[h], i)
	}
	for code := range planted {
		cs := byHospital[code]
		for i := range cs {
			s.Consultants[cs[i]].Cases = plantedCases / len(cs)
		}
		for i := 0; i < plantedCases%len(cs); i++ {
			s.Consultants[cs[i]].Cases++
		}
	}
	// Patients: risk from a logistic model; planted hospitals have
	// 2.5 times the odds of the event.
	for i := range s.Consultants {
		c := &s.Consultants[i]
		extra := 0.0
		if planted[hospitalOf[c.Parent]] {
			extra = math.Log(plantedOdds)
		}
		for p := 0; p < c.Cases; p++ {
			lin := logit(baselineRate) + riskSlope*rng.NormFloat64()
			c.Expected += logistic(lin)
			if rng.Float64() < logistic(lin+extra) {
				c.Observed++
			}
		}
	}
	// Teams and hospitals are the sums of their consultants.
	teamIdx, hospIdx := map[string]int{}, map[string]int{}
	for i, t := range s.Teams {
		teamIdx[t.Code] = i
	}
	for i, h := range s.Hospitals {
		hospIdx[h.Code] = i
	}
	for _, c := range s.Consultants {
		t := &s.Teams[teamIdx[c.Parent]]
		h := &s.Hospitals[hospIdx[t.Parent]]
		for _, u := range []*Unit{t, h} {
			u.Cases += c.Cases
			u.Observed += c.Observed
			u.Expected += c.Expected
		}
	}
	return s
}

// Outcome is a unit's funnel classification.
type Outcome struct {
	Unit
	Ratio  float64 // observed / expected
	Level  string  // "within", "alert", "alarm"; "" when not classified
	High   bool
	Reason string // why not classified
}

// Classify places units on the funnel of observed/expected ratios with
// exact Poisson limits (Spiegelhalter's interpolation) at 95% and 99.8%.
// Units with fewer than minCases cases, or no expected events, are not
// classified, and the reason says so.
func Classify(units []Unit, minCases int) []Outcome {
	out := make([]Outcome, len(units))
	for i, u := range units {
		o := Outcome{Unit: u}
		switch {
		case u.Cases < minCases:
			o.Reason = fmt.Sprintf("fewer than %d cases (%d): too few to classify", minCases, u.Cases)
		case u.Expected <= 0:
			o.Reason = "no expected events"
		default:
			o.Ratio = float64(u.Observed) / u.Expected
			o.Level, o.High = indicators.Classification(o.Ratio,
				indicators.ExactRatioLimit(u.Expected, 0.025), indicators.ExactRatioLimit(u.Expected, 0.975),
				indicators.ExactRatioLimit(u.Expected, 0.001), indicators.ExactRatioLimit(u.Expected, 0.999))
		}
		out[i] = o
	}
	return out
}
