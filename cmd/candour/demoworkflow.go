package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
)

// demoAccount is an account the demo creates. The passwords are printed
// by the demo and are for trying Candour out on this machine only.
type demoAccount struct {
	Username, Name, Password string
	Roles                    []publisher.Role
	Organisation             string
}

// demoAccounts: a publisher for each demo publisher, two panel reviewers
// from outside any publisher, a provider checker for one trust (Royal
// Surrey County Hospital, RA2, which the SHMI releases name) and an
// administrator.
var demoAccounts = []demoAccount{
	{"publisher", "Priya Publisher (HSCIC)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "hscic"},
	{"publisher-nhse", "Noel Publisher (NHS England)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "nhs-england"},
	{"publisher-nhsd", "Nadia Publisher (NHS Digital)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "nhs-digital"},
	{"publisher-cqc", "Cara Publisher (CQC)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "care-quality-commission"},
	{"reviewer-1", "Rachel Reviewer", "demo-reviewer-pass", []publisher.Role{publisher.RoleReviewer}, ""},
	{"reviewer-2", "Robert Reviewer", "demo-reviewer-pass", []publisher.Role{publisher.RoleReviewer}, ""},
	{"checker-ra2", "Charlie Checker (Royal Surrey)", "demo-checker-pass", []publisher.Role{publisher.RoleProviderChecker}, "RA2"},
	{"publisher-audit", "Aled Publisher (demonstration audit programme)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "candour-demo-audit"},
	{"publisher-demo", "Dev Publisher (synthetic demonstration data)", "demo-publisher-pass", []publisher.Role{publisher.RolePublisher}, "candour-demo"},
	{"admin", "Ada Administrator", "demo-admin-password", []publisher.Role{publisher.RoleAdministrator}, ""},
}

// auditCheckerAccount is the provider checker of the synthetic audit's
// outlier hospital (which hospital depends on the seed).
func auditCheckerAccount() (demoAccount, error) {
	code, err := syntheticOutlierHospital()
	if err != nil {
		return demoAccount{}, err
	}
	return demoAccount{"checker-synthetic", "Sam Checker (" + code + ", synthetic)", "demo-checker-pass",
		[]publisher.Role{publisher.RoleProviderChecker}, code}, nil
}

// demoCast are the demo's accounts as workflow actors.
type demoCast struct {
	publishers map[string]publisher.Actor // by publisher slug
	reviewers  [2]publisher.Actor
	checker    publisher.Actor
	// auditChecker checks the synthetic audit's outlier hospital.
	auditChecker publisher.Actor
	notes        []string
}

func createDemoAccounts(ctx context.Context, a *app) (*demoCast, error) {
	cast := &demoCast{publishers: map[string]publisher.Actor{}}
	auditChecker, err := auditCheckerAccount()
	if err != nil {
		return nil, err
	}
	for _, d := range append(demoAccounts, auditChecker) {
		actor, err := a.addUser(ctx, "demo", d.Username, d.Name, d.Password, d.Roles, d.Organisation)
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", d.Username, err)
		}
		switch {
		case actor.Has(publisher.RolePublisher):
			cast.publishers[d.Organisation] = actor
		case d.Username == "reviewer-1":
			cast.reviewers[0] = actor
		case d.Username == "reviewer-2":
			cast.reviewers[1] = actor
		case d.Username == auditChecker.Username:
			cast.auditChecker = actor
		case actor.Has(publisher.RoleProviderChecker):
			cast.checker = actor
		}
	}
	return cast, nil
}

// demoAnswers are the panel's answers to the seven considerations for the
// demo's releases, all public data already published by their producers.
var demoAnswers = [7]string{
	"Lets patients and the public compare providers; already published by the producer.",
	"Aggregate statistics about organisations, not people; the ICO was not consulted.",
	"Provider-level figures; the declared disclosure rule and the automated audit found no recoverable cell.",
	"CSV at provider level, as the producer publishes it.",
	"No extra cost: re-publication of existing statistics.",
	"None: the producer's own open publication.",
	"Supports intermediaries through a stable CSV and feeds.",
}

func (c *demoCast) publisherFor(sub publisher.Submission) (publisher.Actor, error) {
	p, ok := c.publishers[sub.Dataset.Publisher.Slug]
	if !ok {
		return p, fmt.Errorf("no demo publisher account for %s", sub.Dataset.Publisher.Slug)
	}
	return p, nil
}

// throughReview submits a release and takes it through panel review to
// approved.
func (c *demoCast) throughReview(ctx context.Context, a *app, sub publisher.Submission, stdout io.Writer, progress publisher.Progress) (int64, error) {
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

func (c *demoCast) approve(ctx context.Context, a *app, reviewer publisher.Actor, id int64) error {
	r, err := a.publisher.ReleaseByID(ctx, id)
	if err != nil {
		return err
	}
	var files []auditlog.FileHash
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic {
			files = append(files, auditlog.FileHash{Name: f.Name, SHA256: f.SHA256})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	// The demonstration panel has read the declarations that need its
	// acceptance (a file published without small-number control, with the
	// producer's reason) and accepts them, as its answers say.
	findings, err := a.publisher.FindingsToAccept(ctx, reviewer, id)
	if err != nil {
		return err
	}
	var accepted []string
	for _, f := range findings {
		accepted = append(accepted, f.AcceptanceKey())
	}
	_, err = a.publisher.RecordReview(ctx, reviewer, id, publisher.ReviewInput{Answers: demoAnswers, Decision: publisher.DecisionApprove,
		Files: files, Accepted: accepted})
	return err
}

// publishAll schedules approved releases a moment ahead and publishes them
// at that instant, as the scheduler would.
func (c *demoCast) publishAll(ctx context.Context, a *app, ids []int64, stdout io.Writer) error {
	embargo := a.now().Add(1500 * time.Millisecond)
	for _, id := range ids {
		r, err := a.publisher.ReleaseByID(ctx, id)
		if err != nil {
			return err
		}
		pub := c.publishers[publisherOf(ctx, a, r)]
		if _, err := a.publisher.Schedule(ctx, pub, id, embargo, ""); err != nil {
			return err
		}
	}
	select {
	case <-time.After(time.Until(embargo)):
	case <-ctx.Done():
		return ctx.Err()
	}
	published, err := a.publisher.PublishDue(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Published %d releases after panel review.\n", len(published))
	return nil
}

func publisherOf(ctx context.Context, a *app, r catalogue.Release) string {
	d, err := a.catalogue.GetDataset(ctx, r.Dataset.Slug, catalogue.Internal())
	if err != nil {
		return ""
	}
	return d.Publisher.Slug
}

// scheduleLastSHMI takes the eleventh SHMI release through provider
// preview (with a query from the provider checker, resolved by a reviewer)
// and review, and schedules it for 09:30 on the first Thursday at least two
// weeks ahead: its
// calendar entry is public, its content embargoed.
func (c *demoCast) scheduleLastSHMI(ctx context.Context, a *app, sub publisher.Submission, stdout io.Writer, progress publisher.Progress) error {
	pub, err := c.publisherFor(sub)
	if err != nil {
		return err
	}
	out, err := a.publisher.Submit(ctx, pub, sub, progress)
	if err != nil {
		return err
	}
	printOutcome(stdout, out)
	id := out.Release.ID
	if _, err := a.publisher.OpenPreview(ctx, pub, id, a.now().Add(24*time.Hour)); err != nil {
		return err
	}
	q, err := a.publisher.RaiseQuery(ctx, c.checker, id, "Our observed deaths look higher than our own records for this period; please confirm the source extract.")
	if err != nil {
		return err
	}
	if _, err := a.publisher.SendToReview(ctx, pub, id); err != nil {
		return err
	}
	if _, err := a.publisher.ResolveQuery(ctx, c.reviewers[0], id, q.ID,
		"Confirmed with the producer: the figures follow the published methodology; deaths within 30 days of discharge are included."); err != nil {
		return err
	}
	for _, r := range c.reviewers {
		if err := c.approve(ctx, a, r, id); err != nil {
			return err
		}
	}
	day := a.now().In(catalogue.London).AddDate(0, 0, 14)
	for day.Weekday() != time.Thursday { // statistics go out on weekdays; Thursday is customary
		day = day.AddDate(0, 0, 1)
	}
	embargo := publisher.EmbargoOn(catalogue.NewDate(day.Year(), day.Month(), day.Day()))
	r, err := a.publisher.Schedule(ctx, pub, id, embargo, "")
	if err != nil {
		return err
	}
	c.notes = append(c.notes, fmt.Sprintf("%s version %d is scheduled for %s (see /calendar).", r.Dataset.Slug, r.Version, catalogue.FormatInstant(embargo)))
	return nil
}

// correctionInReview submits a correction of the CQC ratings release and
// leaves it in panel review with one approval of the two it needs.
func (c *demoCast) correctionInReview(ctx context.Context, a *app, cqc int64, stdout io.Writer, progress publisher.Progress) error {
	sub, err := publisher.ReadSubmission(specFS{}, "cqc-gp-ratings.json")
	if err != nil {
		return err
	}
	old, err := a.publisher.ReleaseByID(ctx, cqc)
	if err != nil {
		return err
	}
	pub, err := c.publisherFor(sub)
	if err != nil {
		return err
	}
	sub.Release.Corrects = old.Version
	sub.Release.Title = old.Title + " (corrected description)"
	sub.Release.CorrectionNotice = "The first release described its period covered imprecisely; the ratings themselves are unchanged."
	sub.Release.ChangeNotes = "Only the release's description changed. The file is byte for byte the one published in version 1."
	sub.Release.Revision = &publisher.RevisionSpec{Of: old.Version}
	out, err := a.publisher.Submit(ctx, pub, sub, progress)
	if err != nil {
		return err
	}
	printOutcome(stdout, out)
	if _, err := a.publisher.SendToReview(ctx, pub, out.Release.ID); err != nil {
		return err
	}
	if err := c.approve(ctx, a, c.reviewers[0], out.Release.ID); err != nil {
		return err
	}
	c.notes = append(c.notes, fmt.Sprintf("%s version %d, a correction, awaits a second panel approval (sign in as reviewer-2).",
		out.Release.Dataset.Slug, out.Release.Version))
	return nil
}

func (c *demoCast) print(w io.Writer) {
	fmt.Fprintln(w, "\nDemo accounts (for trying Candour on this machine only; sign in at /account/login):")
	accounts := demoAccounts
	if c.auditChecker.Username != "" {
		accounts = append(accounts[:len(accounts):len(accounts)], demoAccount{c.auditChecker.Username, "", "demo-checker-pass",
			[]publisher.Role{publisher.RoleProviderChecker}, c.auditChecker.Organisation + " (synthetic audit)"})
	}
	for _, d := range accounts {
		org := ""
		if d.Organisation != "" {
			org = " for " + d.Organisation
		}
		fmt.Fprintf(w, "  %-17s password %-20s %s%s\n", d.Username, d.Password, roleNames(d.Roles), org)
	}
	for _, n := range c.notes {
		fmt.Fprintln(w, n)
	}
}

func roleNames(rs []publisher.Role) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += ", "
		}
		out += string(r)
	}
	return out
}
