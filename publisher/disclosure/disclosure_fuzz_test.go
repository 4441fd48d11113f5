package disclosure

import (
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
)

// fuzzBytes hands out the fuzzer's bytes one at a time, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return c
}

// fuzzCount reads a count from one byte: about a fifth zeros, two fifths
// small counts (1–7, what the rules suppress), the rest 8 to 40.
func fuzzCount(c byte) int {
	switch r := int(c); {
	case r < 48:
		return 0
	case r < 152:
		return 1 + r%7
	default:
		return 8 + r%33
	}
}

// fuzzPropCase reads a release from the fuzzer's bytes, in the shape of
// the property test's (property_test.go): a table of 2–3 areas by 2–3
// columns (or sexes, in the long form) with a Total row and an all
// column, integer counts, the nhs-digital or threshold rule, margins and
// counts declared or not (undeclared, Candour finds them), optional
// regions with a mapping file, and optionally a correction of an earlier
// release with cells suppressed at source.
func fuzzPropCase(data []byte) propCase {
	b := fuzzBytes(data)
	flags, shape := b.next(), b.next()
	c := propCase{seed: 0, rule: datasets.DisclosureThreshold, threshold: 3 + int(shape>>4)%3}
	if flags&1 != 0 {
		c.rule, c.threshold = datasets.DisclosureNHSDigital, 0
		c.national = flags&2 != 0
	}
	c.long = flags&4 != 0
	c.declMargins = flags&8 != 0
	c.declCounts = flags&16 != 0
	nr, nc := 2+int(shape&1), 2+int(shape>>1&1)
	c.areas, c.cols = propAreaNames[:nr], propColNames[:nc]
	if flags&32 != 0 {
		c.region = make([]string, nr)
		regions := b.next()
		for i := range c.region {
			c.region[i] = []string{"R1", "R2"}[regions>>i&1]
		}
		c.inheritRule = shape&4 != 0
	}
	grid := func() [][]int {
		g := make([][]int, nr)
		for i := range g {
			g[i] = make([]int, nc)
			for j := range g[i] {
				g[i][j] = fuzzCount(b.next())
			}
		}
		return g
	}
	c.values = grid()
	if flags&64 == 0 {
		return c
	}
	// A correction: the release corrected differs in the cells that the
	// next bytes choose (at least one); unchanged cells may arrive
	// suppressed at source, as the property test's generator allows.
	c.before = make([][]int, nr)
	for i := range c.before {
		c.before[i] = slices.Clone(c.values[i])
	}
	changed := make([][]bool, nr)
	for i := range changed {
		changed[i] = make([]bool, nc)
	}
	for n := 1 + int(b.next()%2); n > 0; n-- {
		k := int(b.next()) % (nr * nc)
		i, j := k/nc, k%nc
		if v := fuzzCount(b.next()); v != c.values[i][j] {
			c.before[i][j] = v
		} else {
			c.before[i][j] = c.values[i][j] + 1
		}
		changed[i][j] = true
	}
	if flags&128 != 0 {
		pre := make([][]bool, nr)
		for i := range pre {
			pre[i] = make([]bool, nc)
		}
		chosen := 0
		for n := 1 + int(b.next()%2); n > 0; n-- {
			k := int(b.next()) % (nr * nc)
			if i, j := k/nc, k%nc; !changed[i][j] && !pre[i][j] {
				pre[i][j] = true
				chosen++
			}
		}
		if chosen > 0 {
			c.pre = pre
		}
	}
	return c
}

// FuzzCheck runs disclosure control on small tables built from the
// fuzzer's bytes (fuzzPropCase). Check must not panic or fail, its report
// must marshal, and in every release it accepts (not blocked) each
// suppressed cell must keep the default protection, three possible values,
// as the property test's independent brute-force enumerator judges from
// the public files alone (a correction's release corrected is judged
// first, as runPropCase does).
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0b00011001, 0b00000011, 200, 3, 250, 1, 0, 180, 9, 60, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzPropCase(data)
		if c.before == nil {
			files := c.originals(c.values, nil)
			fuzzJudge(t, c, mustCheck(t, Input{Files: parsePropFiles(t, files)}), files, nil)
			return
		}
		plain := c.asPlain(c.before)
		earlierFiles := plain.originals(c.before, nil)
		earlierOrig := parsePropFiles(t, earlierFiles)
		first := mustCheck(t, Input{Files: earlierOrig})
		fuzzJudge(t, plain, first, earlierFiles, nil)
		if first.Blocked {
			return
		}
		var earlierPublic []File
		for _, p := range first.Public {
			earlierPublic = append(earlierPublic, reparse(t, p))
		}
		files := c.originals(c.values, c.pre)
		res := mustCheck(t, Input{Files: parsePropFiles(t, files),
			Earlier: []Earlier{{Version: 1, Linked: true, Files: earlierPublic, Originals: earlierOrig}}})
		fuzzJudge(t, c, res, files, &propEarlier{files: earlierFiles, public: first.Public})
	})
}

// fuzzJudge is judgeRelease with one difference: the enumerator searches
// values up to ten more than the largest true value as well as the
// largest published one. The property test's generator keeps its values
// small enough that the largest published figure always bounds them; the
// fuzzer does not, and a release whose large cells are all suppressed
// would otherwise leave the truth outside the search. Searching further
// only adds candidates the public cannot rule out (counts have no upper
// bound), so it never hides a cell left with too few possible values.
func fuzzJudge(t *testing.T, c propCase, res Result, files []propFile, earlier *propEarlier) {
	t.Helper()
	if res.Blocked {
		return
	}
	var earlierPublic []PublicFile
	if earlier != nil {
		earlierPublic = earlier.public
	}
	p, err := c.attackProblem(res.Public, earlierPublic)
	if err != nil {
		t.Fatalf("%s: %v\n%s", c.describe(), err, propDump(c, res, files, earlier))
	}
	for _, x := range p.truth {
		p.bound = max(p.bound, x+10)
	}
	if bad := p.violations(); len(bad) > 0 {
		t.Fatalf("%s: the true original is not a consistent candidate:\n  %s\n%s",
			c.describe(), strings.Join(bad, "\n  "), propDump(c, res, files, earlier))
	}
	v := p.enumerate(propWant, propNodeCap)
	if v.aborted {
		t.Logf("%s: enumeration gave up after %d nodes", c.describe(), v.nodes)
		return
	}
	bad := p.underProtected(v, res)
	if len(bad) > 0 {
		t.Fatalf("%s: Check accepted the release, but suppressed cells have fewer than %d possible values:\n  %s\n%s",
			c.describe(), propWant, strings.Join(bad, "\n  "), propDump(c, res, files, earlier))
	}
}
