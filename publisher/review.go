package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/disclosure"
)

// OpenPreview opens the provider preview of a checked release until the
// given instant: provider checkers of organisations the release names see
// their own rows of the public version and may raise queries.
func (s *Service) OpenPreview(ctx context.Context, actor Actor, releaseID int64, until time.Time) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	if !until.After(s.now()) {
		return r, invalid("until", "the preview must end in the future, not %s", formatWhen(until))
	}
	t, err := s.transition(r, catalogue.StateInPreview, actor, "provider preview until "+formatWhen(until))
	if err != nil {
		return r, err
	}
	p := Preview{Release: r.ID, OpenedAt: s.now(), Until: until, OpenedBy: actor.String()}
	if err := s.step(ctx, actor, ActionOpenPreview, r, Change{Transitions: []catalogue.Transition{t}, Preview: &p,
		Audit: s.audit(actor, "release.preview-opened", r, map[string]string{"until": until.UTC().Format(time.RFC3339)})}); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}

// SendToReview hands a checked or previewed release to the transparency
// panel.
func (s *Service) SendToReview(ctx context.Context, actor Actor, releaseID int64) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := s.ownsDataset(ctx, actor, r); err != nil {
		return r, err
	}
	t, err := s.transition(r, catalogue.StateInReview, actor, "")
	if err != nil {
		return r, err
	}
	if err := s.step(ctx, actor, ActionSendToReview, r, Change{Transitions: []catalogue.Transition{t},
		Audit: s.audit(actor, "release.sent-to-review", r, nil)}); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}

// RaiseQuery records a provider checker's query about their organisation's
// figures in a release in preview.
func (s *Service) RaiseQuery(ctx context.Context, actor Actor, releaseID int64, text string) (Query, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Query{}, err
	}
	if err := permit(actor, ActionRaiseQuery, r); err != nil {
		return Query{}, err
	}
	if err := s.checkPreviewer(ctx, actor, r); err != nil {
		return Query{}, err
	}
	if strings.TrimSpace(text) == "" {
		return Query{}, invalid("query", "write the question about your organisation's figures")
	}
	q := Query{Release: r.ID, Organisation: actor.Organisation, RaisedBy: actor.String(), Text: text, RaisedAt: s.now()}
	err = s.step(ctx, actor, ActionRaiseQuery, r, Change{Query: &q,
		Audit: s.audit(actor, "query.raised", r, map[string]string{"organisation": actor.Organisation, "query": text})})
	return q, err
}

// checkPreviewer checks a provider checker may see r: the preview window
// is open and the release names their organisation.
func (s *Service) checkPreviewer(ctx context.Context, actor Actor, r catalogue.Release) error {
	// Whether the release names the checker's organisation comes first: a
	// checker it does not name learns nothing of it, not even its state.
	named, err := s.names(ctx, r, actor.Organisation)
	if err != nil {
		return err
	}
	if !named {
		if err := hiddenFrom(r); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s version %d has no figures for %s", ErrForbidden, r.Dataset.Slug, r.Version, actor.Organisation)
	}
	p, ok, err := s.workflow.Preview(ctx, r.ID)
	if err != nil {
		return err
	}
	if !ok || r.State != catalogue.StateInPreview {
		return fmt.Errorf("%w: %s version %d is not in provider preview", ErrNotAllowed, r.Dataset.Slug, r.Version)
	}
	if !s.now().Before(p.Until) {
		return fmt.Errorf("%w: the provider preview of %s version %d ended at %s", ErrNotAllowed, r.Dataset.Slug, r.Version, formatWhen(p.Until))
	}
	return nil
}

// ResolveQuery records a reviewer's resolution of a provider query.
func (s *Service) ResolveQuery(ctx context.Context, actor Actor, releaseID, queryID int64, resolution string) (Query, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Query{}, err
	}
	if err := s.checkReviewer(ctx, actor, r); err != nil {
		return Query{}, err
	}
	if strings.TrimSpace(resolution) == "" {
		return Query{}, invalid("resolution", "say how the query was resolved")
	}
	qs, err := s.workflow.Queries(ctx, r.ID)
	if err != nil {
		return Query{}, err
	}
	for _, q := range qs {
		if q.ID != queryID {
			continue
		}
		if !q.Open() {
			return q, fmt.Errorf("%w: query %d was already resolved by %s", ErrNotAllowed, q.ID, q.ResolvedBy)
		}
		q.Resolution, q.ResolvedBy, q.ResolvedAt = resolution, actor.String(), s.now()
		c := Change{Query: &q, Audit: s.audit(actor, "query.resolved", r, map[string]any{"query": q.ID, "resolution": resolution})}
		// Resolving the last open query of a release that already has its
		// approvals approves it.
		if r.State == catalogue.StateInReview {
			reviews, err := s.workflow.Reviews(ctx, r.ID)
			if err != nil {
				return q, err
			}
			open, err := s.openQueries(ctx, r.ID)
			if err != nil {
				return q, err
			}
			if approvers := validApprovers(reviews, publicHashes(r)); open == 1 && len(approvers) >= s.approvals {
				t, err := s.transition(r, catalogue.StateApproved, actor,
					fmt.Sprintf("approved by %s; the last provider query resolved", strings.Join(approvers, " and ")))
				if err != nil {
					return q, err
				}
				c.Transitions = append(c.Transitions, t)
			}
		}
		err := s.step(ctx, actor, ActionResolveQuery, r, c)
		return q, err
	}
	return Query{}, fmt.Errorf("%w: release %d has no query %d", catalogue.ErrNotFound, r.ID, queryID)
}

// checkReviewer applies the panel's separation of duties: a reviewer never
// reviews their own submission or a release of their own organisation.
func (s *Service) checkReviewer(ctx context.Context, actor Actor, r catalogue.Release) error {
	if !actor.Has(RoleReviewer) {
		return fmt.Errorf("%w: only transparency panel members (reviewers) review releases; %s has %s", ErrForbidden, actor, roleList(actor.Roles))
	}
	if actor.String() == r.SubmittedBy {
		return fmt.Errorf("%w: %s submitted %s version %d and cannot review it", ErrForbidden, actor, r.Dataset.Slug, r.Version)
	}
	if actor.Organisation != "" {
		d, err := s.catalogue.GetDataset(ctx, r.Dataset.Slug, catalogue.Internal())
		if err != nil {
			return err
		}
		if d.Publisher.Slug == actor.Organisation {
			return fmt.Errorf("%w: %s belongs to %s, which publishes %s, and cannot review it", ErrForbidden, actor, d.Publisher.Name, d.Title)
		}
	}
	return nil
}

// ReviewProblems are what a review lacks, each naming its field as the
// review form does (consideration-1 … consideration-7, decision, change,
// reasons); nothing was recorded. It is ErrInvalid.
type ReviewProblems struct {
	Fields []FieldProblem
}

func (p *ReviewProblems) Error() string {
	parts := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("%v: %s", ErrInvalid, strings.Join(parts, "; "))
}

func (p *ReviewProblems) Unwrap() error { return ErrInvalid }

// CheckReview returns every problem of a review at once: each of the seven
// considerations needs an answer, and the decision its own words.
func CheckReview(in ReviewInput) []FieldProblem {
	var out []FieldProblem
	for i, a := range in.Answers {
		if strings.TrimSpace(a) == "" {
			out = append(out, FieldProblem{Field: fmt.Sprintf("consideration-%d", i+1),
				Message: fmt.Sprintf("Answer consideration %d, %s", i+1, lowerFirst(Considerations[i]))})
		}
	}
	switch in.Decision {
	case DecisionApprove:
	case DecisionApproveWithChange:
		if strings.TrimSpace(in.Change) == "" {
			out = append(out, FieldProblem{Field: "change", Message: "State the change your approval depends on"})
		}
	case DecisionReject:
		if strings.TrimSpace(in.Reasons) == "" {
			out = append(out, FieldProblem{Field: "reasons", Message: "Give the reasons for rejecting the release"})
		}
	default:
		out = append(out, FieldProblem{Field: "decision", Message: "Choose whether you approve, approve subject to a change, or reject the release"})
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// FindingsToAccept returns the findings of a release's disclosure report
// that a reviewer must accept explicitly to approve it, to someone who may
// see the release.
func (s *Service) FindingsToAccept(ctx context.Context, actor Actor, id int64) ([]disclosure.Finding, error) {
	r, err := s.release(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(ctx, actor, r); err != nil {
		return nil, err
	}
	return s.findingsToAccept(ctx, id)
}

// findingsToAccept returns the findings of release id's disclosure report
// that reviewers must accept explicitly before approving.
func (s *Service) findingsToAccept(ctx context.Context, id int64) ([]disclosure.Finding, error) {
	raw, err := s.workflow.Report(ctx, id)
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	var rep disclosure.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("release %d: disclosure report: %w", id, err)
	}
	var out []disclosure.Finding
	for _, f := range rep.Findings {
		if f.NeedsAcceptance() {
			out = append(out, f)
		}
	}
	return out, nil
}

// ReviewInput is what a reviewer records.
type ReviewInput struct {
	Answers  [7]string
	Decision Decision
	Change   string // with DecisionApproveWithChange: the change asked for
	Reasons  string // required to reject
	// Files are the SHA-256 of the public files as the reviewer saw them;
	// the review is refused if the files have changed since.
	Files []auditlog.FileHash
	// Accepted are the findings needing acceptance the reviewer accepts
	// (disclosure.Finding.AcceptanceKey); an approval must accept them all.
	Accepted []string
}

// RecordReview records a reviewer's answers to the seven considerations and
// their decision, bound to the SHA-256 of every public file. When the
// release then has the approvals it needs (from distinct reviewers, all
// bound to the current files) and no open provider query, it moves to
// approved in the same transaction; a rejection moves it to rejected.
func (s *Service) RecordReview(ctx context.Context, actor Actor, releaseID int64, in ReviewInput) (catalogue.Release, error) {
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return r, err
	}
	if err := permit(actor, ActionReview, r); err != nil {
		return r, err
	}
	if err := s.checkReviewer(ctx, actor, r); err != nil {
		return r, err
	}
	problems := CheckReview(in)
	needed, err := s.findingsToAccept(ctx, r.ID)
	if err != nil {
		return r, err
	}
	if in.Decision == DecisionApprove {
		for i, f := range needed {
			if !slices.Contains(in.Accepted, f.AcceptanceKey()) {
				problems = append(problems, FieldProblem{Field: fmt.Sprintf("accept-%d", i+1),
					Message: "Accept this finding to approve, or approve subject to a change or reject instead: " + f.Message})
			}
		}
	}
	if len(problems) > 0 {
		return r, &ReviewProblems{Fields: problems}
	}
	var accepted []string
	for _, f := range needed {
		if slices.Contains(in.Accepted, f.AcceptanceKey()) {
			accepted = append(accepted, f.AcceptanceKey())
		}
	}
	current := publicHashes(r)
	if !sameHashes(in.Files, current) {
		return r, fmt.Errorf("%w: the files changed since you opened the release; read them again before deciding", ErrNotAllowed)
	}
	// An approval is of what will be published: not while an amendment's
	// rows, observations and search document are still the old files'.
	if in.Decision != DecisionReject {
		if pending, err := s.unfinished(ctx, r.ID); err != nil {
			return r, err
		} else if pending {
			return r, fmt.Errorf("%w: %s version %d was amended and its rows and figures are still being rewritten from the new files; "+
				"approve it once they are (if the amendment failed part-way, the publisher amends it again)", ErrNotAllowed, r.Dataset.Slug, r.Version)
		}
	}
	reviews, err := s.workflow.Reviews(ctx, r.ID)
	if err != nil {
		return r, err
	}
	if in.Decision == DecisionApprove {
		for _, v := range reviews {
			if v.Reviewer == actor.String() && v.Decision == DecisionApprove && sameHashes(v.Files, current) {
				return r, fmt.Errorf("%w: %s has already approved these files; a second approval must come from another reviewer", ErrNotAllowed, actor)
			}
		}
	}
	review := Review{Release: r.ID, Reviewer: actor.String(), ReviewerName: actor.Name, Answers: in.Answers,
		Decision: in.Decision, Change: in.Change, Reasons: in.Reasons, Files: current, At: s.now(), Accepted: accepted}
	c := Change{Review: &review, Audit: s.audit(actor, "review."+string(in.Decision), r, map[string]any{
		"considerations": answersByTitle(in.Answers), "change": in.Change, "reasons": in.Reasons, "acceptedFindings": accepted})}
	switch in.Decision {
	case DecisionReject:
		t, err := s.transition(r, catalogue.StateRejected, actor, in.Reasons)
		if err != nil {
			return r, err
		}
		c.Transitions = append(c.Transitions, t)
	case DecisionApprove:
		approvers := validApprovers(append(reviews, review), current)
		open, err := s.openQueries(ctx, r.ID)
		if err != nil {
			return r, err
		}
		if len(approvers) >= s.approvals && open == 0 {
			t, err := s.transition(r, catalogue.StateApproved, actor,
				fmt.Sprintf("approved by %s", strings.Join(approvers, " and ")))
			if err != nil {
				return r, err
			}
			c.Transitions = append(c.Transitions, t)
		}
	}
	if err := s.step(ctx, actor, ActionReview, r, c); err != nil {
		return r, err
	}
	return s.release(ctx, r.ID)
}

func answersByTitle(a [7]string) map[string]string {
	out := map[string]string{}
	for i, t := range Considerations {
		out[fmt.Sprintf("%d. %s", i+1, t)] = a[i]
	}
	return out
}

// validApprovers returns the distinct reviewers whose latest decision is an
// approval bound to exactly the current files.
func validApprovers(reviews []Review, current []auditlog.FileHash) []string {
	latest := map[string]Review{}
	var order []string
	for _, v := range reviews {
		if _, seen := latest[v.Reviewer]; !seen {
			order = append(order, v.Reviewer)
		}
		latest[v.Reviewer] = v
	}
	var out []string
	for _, name := range order {
		v := latest[name]
		if v.Decision == DecisionApprove && sameHashes(v.Files, current) {
			out = append(out, name)
		}
	}
	return out
}

func (s *Service) openQueries(ctx context.Context, release int64) (int, error) {
	qs, err := s.workflow.Queries(ctx, release)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range qs {
		if q.Open() {
			n++
		}
	}
	return n, nil
}

// Approvals returns the reviews that currently count as approvals of r:
// the latest decision of each reviewer, if it approves the current files.
func (s *Service) Approvals(ctx context.Context, r catalogue.Release) ([]Review, error) {
	reviews, err := s.workflow.Reviews(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	names := validApprovers(reviews, publicHashes(r))
	var out []Review
	for _, v := range reviews {
		for _, n := range names {
			if v.Reviewer == n && v.Decision == DecisionApprove {
				out = append(out, v)
			}
		}
	}
	// Keep each approver's latest approval only.
	seen := map[string]int{}
	var dedup []Review
	for _, v := range out {
		if i, ok := seen[v.Reviewer]; ok {
			dedup[i] = v
			continue
		}
		seen[v.Reviewer] = len(dedup)
		dedup = append(dedup, v)
	}
	return dedup, nil
}

// ApprovalsNeeded is how many distinct approvals a release needs.
func (s *Service) ApprovalsNeeded() int { return s.approvals }
