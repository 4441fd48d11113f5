package site

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/indicators"
)

func TestChartsCarryTheData(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	d := indicators.Definition{ID: "shmi", Title: "SHMI", Unit: indicators.UnitRatio, Method: indicators.MethodOERatio}
	var rows []indicatorRow
	for i, x := range []float64{0.91, 1.02, 1.13} {
		rows = append(rows, indicatorRow{Organisation: catalogue.Organisation{Code: []string{"RA2", "RR8", "RX1"}[i]},
			Observation: indicators.Observation{Value: v(x), Lower95: v(x - 0.05), Upper95: v(x + 0.05), Denominator: v(100 * float64(i+1)), Benchmark: v(1),
				Funnel: "within the limits"}})
	}
	d.Verdict = indicators.Verdict{Method: indicators.VerdictFunnel, Limits: "log-scale"}
	fit := &indicators.FunnelFit{Limits: "log-scale", Target: 1, Overdispersion: "additive"}
	for name, js := range map[string]string{"caterpillar": caterpillar(d, rows), "funnel": funnel(d, fit, rows),
		"sparkline": sparkline(indicators.Line{Definition: d, Series: []indicators.Point{indicators.PointOf(rows[0].Observation), indicators.PointOf(rows[1].Observation)}})} {
		var opts map[string]any
		if err := json.Unmarshal([]byte(js), &opts); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", name, err, js)
		}
		if _, ok := opts["series"]; !ok {
			t.Errorf("%s has no series", name)
		}
		if strings.Contains(js, "<script") {
			t.Errorf("%s options hold markup", name)
		}
	}
	if c := caterpillar(d, rows); !strings.Contains(c, `"value":0.91`) || !strings.Contains(c, `"value":0.86`) {
		t.Errorf("the caterpillar does not carry RA2's value and lower limit: %s", c)
	}
	if !strings.Contains(funnel(d, fit, rows), "[300,1.13]") {
		t.Errorf("the funnel does not plot RX1 at (300, 1.13): %s", funnel(d, fit, rows))
	}
	// The limit lines come from the fit: they start at 80% of the smallest
	// organisation's E, where the upper 95% limit is exp(1.96/√80) = 1.245.
	if l, _ := fit.LimitsAt(d, 80); round(l.Upper95, 4) != 1.245 || !strings.Contains(funnel(d, fit, rows), fmt.Sprintf("[80,%v]", round(l.Upper95, 4))) {
		t.Errorf("the funnel's 95%% line does not pass through (80, %.4f): %s", l.Upper95, funnel(d, fit, rows))
	}
	if sparkline(indicators.Line{Definition: d, Series: []indicators.Point{indicators.PointOf(rows[0].Observation)}}) != "" {
		t.Error("a sparkline of one point")
	}
}

// A rating distribution's chart is one bar per star, five stars at the
// top, with the counts the table gives; no ratings, no chart.
func TestRatingsChart(t *testing.T) {
	var got struct {
		Series []struct {
			Type string
			Data []struct{ Value int }
		}
		YAxis []struct {
			Type string
			Data []string
		}
	}
	raw := ratingsChart(feedback.Distribution{Stars: [5]int{1, 0, 2, 3, 4}, Ratings: 10})
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, d := range got.Series[0].Data {
		counts = append(counts, d.Value)
	}
	if got.Series[0].Type != "bar" || fmt.Sprint(counts) != "[1 0 2 3 4]" || got.YAxis[0].Type != "category" ||
		strings.Join(got.YAxis[0].Data, ",") != "1 star,2 stars,3 stars,4 stars,5 stars" {
		t.Errorf("ratings chart: %s", raw)
	}
	if c := ratingsChart(feedback.Distribution{Items: 2}); c != "" {
		t.Errorf("a distribution without ratings has a chart: %s", c)
	}
}

// The sparkline's options, written without go-echarts, carry each shown
// period's value in order under the indicator's title, skip periods
// without a value, and stay JSON whatever the title holds.
func TestSparklineCarriesTheSeries(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	d := indicators.Definition{ID: "x", Title: `Waits "within" 4 hours </script> & more`}
	series := []indicators.Point{{Period: "2019/20", Value: v(72.123456)}, {Period: "2020/21"}, {Period: "2021/22", Value: v(-0.5)}, {Period: "2022/23", Value: v(1e-7)}}
	js := sparkline(indicators.Line{Definition: d, Series: series})
	var opts struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		Series []struct {
			Name string
			Type string
			Data []struct{ Value float64 } `json:"data"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(js), &opts); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	if len(opts.XAxis) != 1 || strings.Join(opts.XAxis[0].Data, " ") != "2019/20 2021/22 2022/23" {
		t.Errorf("periods %+v", opts.XAxis)
	}
	if len(opts.Series) != 1 || opts.Series[0].Name != d.Title || opts.Series[0].Type != "line" || len(opts.Series[0].Data) != 3 ||
		opts.Series[0].Data[0].Value != 72.1235 || opts.Series[0].Data[1].Value != -0.5 || opts.Series[0].Data[2].Value != 0 {
		t.Errorf("series %+v", opts.Series)
	}
	if sparkline(indicators.Line{Definition: d, Series: series[:2]}) != "" {
		t.Error("a sparkline of one shown point")
	}
}
