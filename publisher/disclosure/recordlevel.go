package disclosure

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/candour/candour/datasets"
)

// RecordLevelReport describes the re-identification risk of a record-level
// file, in ARX's prosecutor model: a class is the set of records sharing
// their quasi-identifier values.
type RecordLevelReport struct {
	QuasiIdentifiers []string      `json:"quasiIdentifiers"`
	K                int           `json:"k"`
	Records          int           `json:"records"`
	Classes          int           `json:"classes"`
	SmallestClass    int           `json:"smallestClass"`
	RecordsAtRisk    int           `json:"recordsAtRisk"` // records in classes smaller than k
	HighestRisk      float64       `json:"highestRisk"`   // 1 / smallest class
	SuccessRate      float64       `json:"successRate"`   // classes / records
	KViolations      []ClassReport `json:"kViolations,omitempty"`
	Sensitive        []string      `json:"sensitive,omitempty"`
	L                int           `json:"l,omitempty"`
	LViolations      []ClassReport `json:"lViolations,omitempty"`
}

// ClassReport is a class of records that breaks k-anonymity or
// ℓ-diversity. It lists the quasi-identifier values and the records, never
// the sensitive values.
type ClassReport struct {
	Values    []string `json:"values"`
	Size      int      `json:"size"`
	Sensitive string   `json:"sensitive,omitempty"` // the sensitive field, for ℓ-diversity
	Distinct  int      `json:"distinct,omitempty"`  // its distinct values in the class
	Rows      []int    `json:"rows"`                // record numbers, at most 20
}

// missingKey stands for a missing value in a class key: missing values
// form their own group, as in sdcMicro's tests.
const missingKey = "\x00missing"

// classKey joins the values of one record's quasi-identifiers.
func classKey(values []string) string { return strings.Join(values, "\x1f") }

// classes groups records by key, keeping first-appearance order.
func classes(keys [][]string) (order []string, members map[string][]int) {
	members = map[string][]int{}
	for i, k := range keys {
		ck := classKey(k)
		if _, ok := members[ck]; !ok {
			order = append(order, ck)
		}
		members[ck] = append(members[ck], i)
	}
	return order, members
}

// ClassSizes returns, for each record, the size of its class (sdcMicro's
// fk): the number of records with the same key values.
func ClassSizes(keys [][]string) []int {
	_, members := classes(keys)
	fk := make([]int, len(keys))
	for _, idx := range members {
		for _, i := range idx {
			fk[i] = len(idx)
		}
	}
	return fk
}

// KAnonymityViolations returns the number of records whose class is
// smaller than k.
func KAnonymityViolations(keys [][]string, k int) int {
	n := 0
	for _, f := range ClassSizes(keys) {
		if f < k {
			n++
		}
	}
	return n
}

// Risk is ARX's prosecutor re-identification risk summary.
type Risk struct {
	RecordsAtRisk float64 // share of records whose risk 1/|class| is more than the threshold
	HighestRisk   float64 // 1 / smallest class
	SuccessRate   float64 // classes / records
}

// ProsecutorRisk computes the prosecutor risk of records with the given
// keys, with records at risk measured against threshold tau (strictly
// greater).
func ProsecutorRisk(keys [][]string, tau float64) Risk {
	if len(keys) == 0 {
		return Risk{}
	}
	order, members := classes(keys)
	smallest, atRisk := len(keys), 0
	for _, ck := range order {
		n := len(members[ck])
		smallest = min(smallest, n)
		if 1/float64(n) > tau {
			atRisk += n
		}
	}
	return Risk{
		RecordsAtRisk: float64(atRisk) / float64(len(keys)),
		HighestRisk:   1 / float64(smallest),
		SuccessRate:   float64(len(order)) / float64(len(keys)),
	}
}

// DistinctLPerRecord returns, for each record, the number of distinct
// sensitive values in its class (distinct ℓ-diversity, as sdcMicro's
// ldiversity reports it). Missing sensitive values (missingKey) do not
// count.
func DistinctLPerRecord(keys [][]string, sensitive []string) []int {
	_, members := classes(keys)
	out := make([]int, len(keys))
	for _, idx := range members {
		seen := map[string]bool{}
		for _, i := range idx {
			if sensitive[i] != missingKey {
				seen[sensitive[i]] = true
			}
		}
		for _, i := range idx {
			out[i] = len(seen)
		}
	}
	return out
}

// valueCounts returns the counts of each distinct value, largest first.
func valueCounts(values []string) []int {
	m := map[string]int{}
	for _, v := range values {
		m[v]++
	}
	counts := make([]int, 0, len(m))
	for _, n := range m {
		counts = append(counts, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	return counts
}

// EntropyL returns the entropy ℓ of one class's sensitive values:
// exp(−Σ p·ln p). The class satisfies entropy ℓ-diversity when this is at
// least ℓ.
func EntropyL(values []string) float64 {
	if len(values) == 0 {
		return 0
	}
	var h float64
	for _, n := range valueCounts(values) {
		p := float64(n) / float64(len(values))
		h -= p * math.Log(p)
	}
	return math.Exp(h)
}

// RecursiveCL reports whether one class's sensitive values satisfy
// recursive (c,ℓ)-diversity: with value counts r1 ≥ r2 ≥ … ≥ rm,
// r1 < c·(r_ℓ + … + r_m).
func RecursiveCL(values []string, c float64, l int) bool {
	r := valueCounts(values)
	if l < 1 || len(r) < l {
		return false
	}
	tail := 0
	for _, n := range r[l-1:] {
		tail += n
	}
	return float64(r[0]) < c*float64(tail)
}

// EMDEqual returns the earth mover's distance between distributions p and
// q under the equal ground distance: ½·Σ|p_i − q_i| (t-closeness).
func EMDEqual(p, q []float64) float64 {
	var d float64
	for i := range p {
		d += math.Abs(p[i] - q[i])
	}
	return d / 2
}

// EMDOrdered returns the earth mover's distance between distributions p
// and q over m ordered values: (1/(m−1))·Σ_i |Σ_{j≤i} (p_j − q_j)|.
func EMDOrdered(p, q []float64) float64 {
	if len(p) < 2 {
		return 0
	}
	var d, cum float64
	for i := range p {
		cum += p[i] - q[i]
		d += math.Abs(cum)
	}
	return d / float64(len(p)-1)
}

// cellKey is a value as it takes part in a class key.
func cellKey(v datasets.Value) string {
	if v.Kind == datasets.KindMissing {
		return missingKey
	}
	return v.Text
}

// checkRecordLevel runs k-anonymity and ℓ-diversity on a record-level
// original file.
func (c *checker) checkRecordLevel(f File, t *table) {
	s := f.Resource.Schema
	if !recordLevel(s) {
		return
	}
	rule := datasets.DisclosureRule{}
	if s.Disclosure != nil {
		rule = *s.Disclosure
	}
	var qi, sens []int
	for i, fl := range s.Fields {
		switch fl.Role {
		case datasets.RoleQuasiIdentifier:
			qi = append(qi, i)
		case datasets.RoleSensitive:
			sens = append(sens, i)
		}
	}
	if len(qi) == 0 {
		c.add(Finding{Kind: KindNoQuasiIDs, File: f.Name,
			Message: "The file is declared record-level but no field has the quasi-identifier role, so k-anonymity was not checked: declare the fields that could identify a person in combination (age band, sex, area, dates)."})
		return
	}
	rep := &RecordLevelReport{K: rule.KAnonymity(), Records: len(f.Rows)}
	for _, i := range qi {
		rep.QuasiIdentifiers = append(rep.QuasiIdentifiers, s.Fields[i].Name)
	}
	keys := make([][]string, len(f.Rows))
	for r, row := range f.Rows {
		for _, i := range qi {
			keys[r] = append(keys[r], cellKey(row.Values[i]))
		}
	}
	order, members := classes(keys)
	risk := ProsecutorRisk(keys, 1/float64(rep.K))
	rep.Classes, rep.HighestRisk, rep.SuccessRate = len(order), risk.HighestRisk, risk.SuccessRate
	rep.SmallestClass = len(f.Rows)
	display := func(ck string) []string {
		vals := strings.Split(ck, "\x1f")
		for i, v := range vals {
			if v == missingKey {
				vals[i] = "(missing)"
			}
		}
		return vals
	}
	records := func(idx []int) []int {
		var out []int
		for _, i := range idx[:min(len(idx), 20)] {
			out = append(out, f.Rows[i].Record)
		}
		return out
	}
	for _, ck := range order {
		idx := members[ck]
		rep.SmallestClass = min(rep.SmallestClass, len(idx))
		if len(idx) < rep.K {
			rep.RecordsAtRisk += len(idx)
			rep.KViolations = append(rep.KViolations, ClassReport{Values: display(ck), Size: len(idx), Rows: records(idx)})
		}
	}
	if len(rep.KViolations) > 0 {
		first := rep.KViolations[0]
		c.add(Finding{Kind: KindKAnonymity, Blocking: true, File: f.Name, Row: first.Rows[0],
			Message: fmt.Sprintf("%d of %d records are in %d classes of fewer than %d records with the same %s (%s); the highest re-identification risk is %.2f. Generalise or suppress quasi-identifiers and resubmit.",
				rep.RecordsAtRisk, rep.Records, len(rep.KViolations), rep.K, strings.Join(rep.QuasiIdentifiers, ", "),
				listClasses(rep.KViolations), rep.HighestRisk)})
	}
	if rule.L > 0 {
		rep.L = rule.L
		for _, si := range sens {
			name := s.Fields[si].Name
			rep.Sensitive = append(rep.Sensitive, name)
			var violations []ClassReport
			for _, ck := range order {
				seen := map[string]bool{}
				for _, i := range members[ck] {
					if k := cellKey(f.Rows[i].Values[si]); k != missingKey {
						seen[k] = true
					}
				}
				if len(seen) < rule.L {
					idx := members[ck]
					violations = append(violations, ClassReport{Values: display(ck), Size: len(idx), Sensitive: name, Distinct: len(seen), Rows: records(idx)})
				}
			}
			if len(violations) > 0 {
				rep.LViolations = append(rep.LViolations, violations...)
				c.add(Finding{Kind: KindLDiversity, Blocking: true, File: f.Name, Row: violations[0].Rows[0], Field: name,
					Column: si + 1,
					Message: fmt.Sprintf("%d classes of records with the same %s hold fewer than %d distinct values of %s (column %d), so membership discloses it (%s).",
						len(violations), strings.Join(rep.QuasiIdentifiers, ", "), rule.L, name, si+1, listClasses(violations))})
			}
		}
	}
	t.recordLevel = rep
}

// listClasses describes up to ten classes by their values and size.
func listClasses(cs []ClassReport) string {
	var parts []string
	for i, cl := range cs {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(cs)-10))
			break
		}
		parts = append(parts, fmt.Sprintf("(%s) ×%d", strings.Join(cl.Values, ", "), cl.Size))
	}
	return strings.Join(parts, "; ")
}
