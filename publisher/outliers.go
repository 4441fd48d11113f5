package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher/disclosure"
)

// Clinical audit releases. An audit release ships an audit definition
// beside its outcomes file. At submission the file is checked row by row
// (bad counts are rejected with the row and column, nothing stored), and
// each unit is placed on its funnel from the public version of the file;
// the outcomes are stored tagged with the release, public only once it is.
//
// Outlier notification follows national audit policy (statistics.md B2):
// the units at alert or alarm are listed for the audit's publisher (acting
// as the audit body) as soon as the release is checked, and, when the
// publisher opens the provider preview, shown to the checkers of the
// provider where each unit's cases were treated — never to another
// provider's checkers. A checker answers each notification (a data error,
// or an explanation); the answers and their dates stay with the release
// and are shown to the panel's reviewers.

// OutlierResponse is a provider's answer to an outlier notification.
type OutlierResponse struct {
	ID       int64
	Release  int64
	Provider string // the responding checker's organisation
	Measure  string
	Period   string
	Level    audit.Level
	Team     string
	Code     string // the unit's code at its level
	Kind     ResponseKind
	Text     string
	By       string
	At       time.Time
}

// ResponseKind is what a provider says of an outlier (HQIP's staged
// process asks the provider to identify data errors or give an
// explanation).
type ResponseKind string

// Response kinds.
const (
	ResponseDataError   ResponseKind = "data-error"
	ResponseExplanation ResponseKind = "explanation"
	ResponseAccepted    ResponseKind = "accepted"
)

// ResponseKinds lists the kinds, for forms.
var ResponseKinds = []ResponseKind{ResponseDataError, ResponseExplanation, ResponseAccepted}

// Label is the kind in words.
func (k ResponseKind) Label() string {
	switch k {
	case ResponseDataError:
		return "The data are wrong"
	case ResponseExplanation:
		return "There is an explanation"
	case ResponseAccepted:
		return "We accept the finding"
	}
	return string(k)
}

// Matches reports whether the response is about the outcome.
func (r OutlierResponse) Matches(o audit.Outcome) bool {
	return r.Measure == o.Measure && r.Period == o.Period && r.Level == o.Level && r.Code == o.Code && r.Team == o.Team && r.Provider == o.Provider
}

// OutlierNotice is what the workflow shows of an audit release's outliers
// to one viewer.
type OutlierNotice struct {
	Definition audit.Definition
	Outcomes   []audit.Outcome // units at alert or alarm the viewer may see
	Responses  []OutlierResponse
	ListedAt   time.Time // when the outliers were listed for the audit body (submission)
	NotifiedAt time.Time // when the provider preview opened; zero before
}

// Responded returns the responses about an outcome.
func (n OutlierNotice) Responded(o audit.Outcome) []OutlierResponse {
	var out []OutlierResponse
	for _, r := range n.Responses {
		if r.Matches(o) {
			out = append(out, r)
		}
	}
	return out
}

// checkAudit checks an audit definition and its outcomes file, before
// anything is stored.
func checkAudit(def *audit.Definition, files []SubmittedFile) (*Rejection, error) {
	if def == nil {
		return nil, nil
	}
	if err := def.Validate(); err != nil {
		var fe *audit.FieldError
		if errors.As(err, &fe) {
			return &Rejection{Fields: []FieldProblem{{Field: "audit." + fe.Field, Message: fe.Message}}}, nil
		}
		return &Rejection{Fields: []FieldProblem{{Field: "audit", Message: err.Error()}}}, nil
	}
	i := slices.IndexFunc(files, func(f SubmittedFile) bool { return f.Name() == def.File })
	if i < 0 {
		return &Rejection{Fields: []FieldProblem{{Field: "audit.file", Message: fmt.Sprintf("the release has no file %q", def.File)}}}, nil
	}
	f := files[i]
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name(), err)
	}
	defer rc.Close()
	rd, err := datasets.NewReader(rc, f.Name(), f.Resource)
	if err != nil {
		return &Rejection{Files: asProblems(err, f.Name())}, nil
	}
	c, err := audit.NewChecker(*def, f.Name(), rd.Header())
	if err != nil {
		return &Rejection{Files: asProblems(err, f.Name())}, nil
	}
	for !c.Full() {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The file's own problems are reported by validation.
			return nil, nil
		}
		c.Check(row)
	}
	if ps := c.Problems(); len(ps) > 0 {
		return &Rejection{Files: ps}, nil
	}
	return nil, nil
}

// materialiseAudit places every unit of an audit release on its funnel,
// from the public version of the outcomes file, and stores the outcomes
// tagged with the release.
func (s *Service) materialiseAudit(ctx context.Context, r catalogue.Release, def *audit.Definition, public []disclosure.PublicFile) error {
	if def == nil {
		return nil
	}
	if s.audits == nil {
		return fmt.Errorf("release %d ships a clinical audit, but no audit store is configured", r.ID)
	}
	i := slices.IndexFunc(public, func(p disclosure.PublicFile) bool { return p.Name == def.File })
	if i < 0 {
		return fmt.Errorf("audit file %s has no public version", def.File)
	}
	p := public[i]
	c, err := audit.NewChecker(*def, p.Name, p.Header)
	if err != nil {
		return err
	}
	var rows []audit.Row
	for n, cells := range p.Rows {
		row := datasets.Row{Number: n + 1, Record: n + 2, Cells: cells, Values: make([]datasets.Value, len(cells))}
		for j, field := range p.Resource.Schema.Fields {
			if j < len(cells) {
				row.Values[j], _ = field.Parse(cells[j], p.Resource.Schema.MissingValues)
			}
		}
		if ar, ok := c.Check(row); ok {
			rows = append(rows, ar)
		}
	}
	if ps := c.Problems(); len(ps) > 0 {
		return fmt.Errorf("the public version of %s fails the audit checks: %w", p.Name, ps)
	}
	// A limit that cannot be computed in its time fails the submission,
	// naming the measure and unit, instead of hanging it.
	outcomes, funnels, err := audit.ComputeChecked(*def, rows)
	if err != nil {
		return &Rejection{Fields: []FieldProblem{{Field: "audit", Message: fmt.Sprintf("the funnel limits of %s cannot be computed: %v", p.Name, err)}}}
	}
	return s.audits.WriteAudit(ctx, audit.Released{Release: r.ID, Dataset: r.Dataset.Slug, Version: r.Version, Definition: *def, Funnels: funnels}, outcomes)
}

// auditOf returns the audit a release ships, if any.
func (s *Service) auditOf(ctx context.Context, r catalogue.Release) (audit.Released, bool, error) {
	if s.audits == nil {
		return audit.Released{}, false, nil
	}
	as, err := s.audits.Audits(ctx, datasets.NewVisible(r.ID))
	if err != nil || len(as) == 0 {
		return audit.Released{}, false, err
	}
	return as[0], true, nil
}

// Outliers returns the outlier notifications of an audit release for
// actor: every unit at alert or alarm for the audit's publisher, reviewers
// and administrators; a provider checker's own provider's units only, and
// only while the provider preview is open. ok is false when the release
// ships no audit.
func (s *Service) Outliers(ctx context.Context, actor Actor, releaseID int64) (OutlierNotice, bool, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return OutlierNotice{}, false, err
	}
	provider := ""
	if actor.Has(RoleProviderChecker) && !actor.Has(RoleAdministrator) && !actor.Has(RoleReviewer) && !actor.Has(RolePublisher) {
		if err := s.checkPreviewer(ctx, actor, r); err != nil {
			return OutlierNotice{}, false, err
		}
		if err := s.recordAccess(ctx, actor, RoleProviderChecker, r); err != nil {
			return OutlierNotice{}, false, err
		}
		provider = actor.Organisation
	} else if err := s.canSee(ctx, actor, r); err != nil {
		return OutlierNotice{}, false, err
	}
	a, ok, err := s.auditOf(ctx, r)
	if err != nil || !ok {
		return OutlierNotice{}, false, err
	}
	n := OutlierNotice{Definition: a.Definition}
	if n.Outcomes, err = s.audits.Outcomes(ctx, audit.Query{Visible: datasets.NewVisible(r.ID), Release: r.ID, Provider: provider, Flagged: true}); err != nil {
		return n, true, err
	}
	responses, err := s.workflow.OutlierResponses(ctx, r.ID)
	if err != nil {
		return n, true, err
	}
	for _, resp := range responses {
		if provider == "" || resp.Provider == provider {
			n.Responses = append(n.Responses, resp)
		}
	}
	events, err := s.catalogue.ReleaseEvents(ctx, r.ID)
	if err != nil {
		return n, true, err
	}
	for _, e := range events {
		if e.To == catalogue.StateChecked && n.ListedAt.IsZero() {
			n.ListedAt = e.At
		}
	}
	if p, ok, err := s.workflow.Preview(ctx, r.ID); err != nil {
		return n, true, err
	} else if ok {
		n.NotifiedAt = p.OpenedAt
	}
	return n, true, nil
}

// OutlierResponseInput is a checker's answer to one notification.
type OutlierResponseInput struct {
	Measure, Period string
	Level           audit.Level
	Team, Code      string
	Kind            ResponseKind
	Text            string
}

// RespondToOutlier records a provider checker's answer to an outlier
// notification about a unit at their provider, while the preview is open.
// (It is a provider query in substance, so the rule book's permission for
// raising a query applies.)
func (s *Service) RespondToOutlier(ctx context.Context, actor Actor, releaseID int64, in OutlierResponseInput) (OutlierResponse, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return OutlierResponse{}, err
	}
	if err := permit(actor, ActionRaiseQuery, r); err != nil {
		return OutlierResponse{}, err
	}
	if err := s.checkPreviewer(ctx, actor, r); err != nil {
		return OutlierResponse{}, err
	}
	if !slices.Contains(ResponseKinds, in.Kind) {
		return OutlierResponse{}, invalid("kind", "choose whether the data are wrong, there is an explanation, or you accept the finding")
	}
	if strings.TrimSpace(in.Text) == "" {
		return OutlierResponse{}, invalid("text", "write your response to the notification")
	}
	if len(in.Text) > 10000 {
		return OutlierResponse{}, invalid("text", "a response is at most 10,000 characters (this one has %d)", len(in.Text))
	}
	if s.audits == nil {
		return OutlierResponse{}, invalid("unit", "%s version %d has no clinical audit", r.Dataset.Slug, r.Version)
	}
	flagged, err := s.audits.Outcomes(ctx, audit.Query{Visible: datasets.NewVisible(r.ID), Release: r.ID, Provider: actor.Organisation,
		Measure: in.Measure, Period: in.Period, Level: in.Level, Code: in.Code, Flagged: true})
	if err != nil {
		return OutlierResponse{}, err
	}
	i := slices.IndexFunc(flagged, func(o audit.Outcome) bool { return o.Team == in.Team })
	if i < 0 {
		return OutlierResponse{}, invalid("unit", "%s %s (%s, %s) is not an outlier notified to %s in %s version %d",
			in.Level, in.Code, in.Measure, in.Period, actor.Organisation, r.Dataset.Slug, r.Version)
	}
	o := flagged[i]
	resp := OutlierResponse{Release: r.ID, Provider: actor.Organisation, Measure: o.Measure, Period: o.Period, Level: o.Level,
		Team: o.Team, Code: o.Code, Kind: in.Kind, Text: strings.TrimSpace(in.Text), By: actor.String(), At: s.now()}
	err = s.step(ctx, actor, ActionRaiseQuery, r, Change{OutlierResponse: &resp,
		Audit: s.audit(actor, "outlier.responded", r, map[string]string{"provider": resp.Provider, "measure": resp.Measure,
			"period": resp.Period, "level": string(resp.Level), "unit": resp.Code, "kind": string(resp.Kind), "response": resp.Text})})
	return resp, err
}
