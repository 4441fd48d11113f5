package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher"
)

// The demo's Friends and Family Test style indicator is synthetic (no real
// file is available): one month of responses per NHS trust of the
// directory, generated from a fixed seed and published through the
// workflow like every other demo release. Its indicator (the share who
// would recommend, a proportion with Wilson score intervals, shown only
// from 30 responses) appears on every trust's scorecard. Counts from fewer
// than 5 responses are suppressed at source (*), as NHS England does for
// the real test; two trusts are fixed so that the demo always has a
// suppressed value and one too small to show.

// fftSeed fixes the demo's synthetic Friends and Family Test file.
const fftSeed = 20260131

// fftFixed are trusts whose number of responses is fixed: RA7's are
// suppressed (fewer than 5), RA2's too few to show (fewer than 30), and
// the trusts the demo's tests and README name have plenty.
var fftFixed = map[string]int{"RA7": 3, "RA2": 12, "RR8": 2140, "RX1": 1875}

// fftOpenBy is the first day of the file's month: trusts opened later, or
// closed, are left out.
const fftOpenBy = "20260101"

// syntheticFFTFile generates the file's CSV from the trusts in etr.csv.
func syntheticFFTFile() ([]byte, error) {
	f, _, err := openDemoFile("etr.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rng := rand.New(rand.NewPCG(fftSeed, fftSeed>>3))
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"Org Code", "Org Name", "Period", "Responses", "Would recommend", "Would not recommend", "Neither or don't know", "Note"})
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("etr.csv: %w", err)
		}
		if len(rec) < 12 || rec[11] != "" || rec[10] > fftOpenBy {
			continue
		}
		code, name := rec[0], rec[1]
		// Every trust draws the same numbers, fixed or not, so fixing one
		// changes no other trust's figures.
		size, small, tiny := rng.NormFloat64(), rng.Float64(), rng.IntN(4)+1
		few, effect, planted, noise := rng.IntN(25)+5, rng.NormFloat64(), rng.Float64(), rng.NormFloat64()
		n := int(math.Round(math.Exp(6.8 + 0.7*size)))
		n = min(max(n, 30), 8000)
		switch {
		case small < 0.03:
			n = tiny
		case small < 0.08:
			n = few
		}
		if fixed, ok := fftFixed[code]; ok {
			n = fixed
		}
		p := 0.935 + 0.025*effect
		if planted < 0.05 {
			p -= 0.08
		}
		p = min(max(p, 0.7), 0.995)
		yes := int(math.Round(float64(n)*p + noise*math.Sqrt(float64(n)*p*(1-p))))
		yes = min(max(yes, 0), n)
		no := int(math.Round(float64(n-yes) * 0.45))
		neither := n - yes - no
		cells := []string{strconv.Itoa(n), strconv.Itoa(yes), strconv.Itoa(no), strconv.Itoa(neither)}
		if n < 5 {
			cells = []string{"*", "*", "*", "*"}
		}
		w.Write(append(append([]string{code, name, "January 2026"}, cells...), "Synthetic demonstration data"))
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// syntheticFFTRelease is the demo's synthetic Friends and Family Test
// style release.
func syntheticFFTRelease() (publisher.Submission, error) {
	sub, err := publisher.ReadSubmission(specFS{}, "synthetic-fft.json")
	if err != nil {
		return sub, err
	}
	raw, err := fs.ReadFile(specFS{}, "synthetic-fft.resource.json")
	if err != nil {
		return sub, err
	}
	var res datasets.Resource
	if err := json.Unmarshal(raw, &res); err != nil {
		return sub, fmt.Errorf("synthetic-fft.resource.json: %w", err)
	}
	data, err := syntheticFFTFile()
	if err != nil {
		return sub, err
	}
	sub.Files = []publisher.SubmittedFile{{Resource: res, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}}
	return sub, nil
}
