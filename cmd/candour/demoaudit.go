package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
)

// The demo's clinical audit is synthetic (no real team-level audit file
// is available): generated from a fixed seed, one release per financial
// year, published through the same workflow as everything else. The
// latest year goes through provider preview, where the checker of a
// planted outlier hospital answers its notification.

// syntheticSeed fixes the demo's synthetic audit.
const syntheticSeed = 20261122

var syntheticPeriods = []struct{ label, start, end, words string }{
	{"2022/23", "2022-04-01", "2023-03-31", "April 2022 to March 2023"},
	{"2023/24", "2023-04-01", "2024-03-31", "April 2023 to March 2024"},
	{"2024/25", "2024-04-01", "2025-03-31", "April 2024 to March 2025"},
}

// syntheticDefinition reads the demo audit's definition and methodology.
func syntheticDefinition() (audit.Definition, error) {
	raw, err := fs.ReadFile(specFS{}, "synthetic-audit.audit.json")
	if err != nil {
		return audit.Definition{}, err
	}
	def, err := audit.ParseDefinition(raw)
	if err != nil {
		return def, fmt.Errorf("synthetic-audit.audit.json: %w", err)
	}
	md, err := fs.ReadFile(specFS{}, "synthetic-audit.methodology.md")
	if err != nil {
		return def, err
	}
	def.Methodology = string(md)
	return def, nil
}

// syntheticAuditReleases returns one submission per period.
func syntheticAuditReleases() ([]publisher.Submission, error) {
	tmpl, err := publisher.ReadSubmission(specFS{}, "synthetic-audit.json")
	if err != nil {
		return nil, err
	}
	rawRes, err := fs.ReadFile(specFS{}, "synthetic-audit.resource.json")
	if err != nil {
		return nil, err
	}
	var res datasets.Resource
	if err := json.Unmarshal(rawRes, &res); err != nil {
		return nil, fmt.Errorf("synthetic-audit.resource.json: %w", err)
	}
	def, err := syntheticDefinition()
	if err != nil {
		return nil, err
	}
	var subs []publisher.Submission
	for k, p := range syntheticPeriods {
		data := audit.GenerateSyntheticPeriod(syntheticSeed, k, p.label).CSV()
		sub := tmpl
		sub.Release.Title = fmt.Sprintf("Synthetic Surgical Outcomes Audit, %s (synthetic demonstration data)", p.label)
		sub.Release.Summary = fmt.Sprintf("Synthetic demonstration data: outcomes of surgery from %s for 150 fictional hospitals, their teams and consultants.", p.words)
		sub.Release.PeriodLabel = p.words
		sub.Release.PeriodStart, sub.Release.PeriodEnd = p.start, p.end
		d := def
		d.Period = p.words
		sub.Audit = &d
		r := res
		r.Path = fmt.Sprintf("synthetic-audit-outcomes-%s.csv", p.start[:4])
		d.File = r.Path
		sub.Files = []publisher.SubmittedFile{{Resource: r, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}}
		subs = append(subs, sub)
	}
	return subs, nil
}

// syntheticOutlierHospital is a planted hospital at alarm in the latest
// period: the demo's audit checker works there.
func syntheticOutlierHospital() (string, error) {
	def, err := syntheticDefinition()
	if err != nil {
		return "", err
	}
	k := len(syntheticPeriods) - 1
	s := audit.GenerateSyntheticPeriod(syntheticSeed, k, syntheticPeriods[k].label)
	outcomes, _ := audit.Compute(def, s.Rows())
	for _, code := range s.Planted {
		for _, o := range outcomes {
			if o.Level == audit.Hospital && o.Code == code && o.Measure == audit.SyntheticMortality && o.Status == audit.Alarm {
				return code, nil
			}
		}
	}
	return "", fmt.Errorf("no planted hospital of the synthetic audit (seed %d) reached alarm", syntheticSeed)
}

// auditThroughPreview takes the latest synthetic audit release through
// provider preview (the checker of an outlier hospital answers its
// notification) and panel review to approved.
func (c *demoCast) auditThroughPreview(ctx context.Context, a *app, sub publisher.Submission, stdout io.Writer, progress publisher.Progress) (int64, error) {
	pub, err := c.publisherFor(sub)
	if err != nil {
		return 0, err
	}
	out, err := a.publisher.Submit(ctx, pub, sub, progress)
	if err != nil {
		return 0, fmt.Errorf("demo release %q: %w", sub.Release.Title, err)
	}
	printOutcome(stdout, out)
	id := out.Release.ID
	if _, err := a.publisher.OpenPreview(ctx, pub, id, a.now().Add(24*time.Hour)); err != nil {
		return id, err
	}
	notice, _, err := a.publisher.Outliers(ctx, c.auditChecker, id)
	if err != nil {
		return id, err
	}
	responded := 0
	for _, o := range notice.Outcomes {
		if o.Level != audit.Hospital {
			continue
		}
		if _, err := a.publisher.RespondToOutlier(ctx, c.auditChecker, id, publisher.OutlierResponseInput{
			Measure: o.Measure, Period: o.Period, Level: o.Level, Team: o.Team, Code: o.Code, Kind: publisher.ResponseExplanation,
			Text: "We have checked the data: the cases are complete and correctly coded. Our case-mix includes emergency referrals from a regional centre that the risk model may not fully capture; a case-note review is under way.",
		}); err != nil {
			return id, err
		}
		responded++
	}
	if responded == 0 {
		return id, fmt.Errorf("the synthetic audit's checker (%s) was notified of no hospital-level outlier", c.auditChecker.Organisation)
	}
	if _, err := a.publisher.SendToReview(ctx, pub, id); err != nil {
		return id, err
	}
	for _, r := range c.reviewers {
		if err := c.approve(ctx, a, r, id); err != nil {
			return id, err
		}
	}
	return id, nil
}
