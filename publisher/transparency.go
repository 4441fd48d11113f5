package publisher

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher/auditlog"
)

// PublicRecord is what the public may know of how a published release was
// approved: who approved it and when, and who saw it before publication.
type PublicRecord struct {
	Release    catalogue.Release
	Approvals  []PublicApproval
	AccessList []Access
}

// PublicApproval is one approval, as published.
type PublicApproval struct {
	Name string
	At   time.Time
}

// Transparency returns the approval record of every release whose content
// the view shows, newest first, and the audit log's head. It reads releases
// only through the published view.
func (s *Service) Transparency(ctx context.Context, view *catalogue.View) ([]PublicRecord, auditlog.Head, error) {
	head, err := s.workflow.AuditLog().Head(ctx)
	if err != nil {
		return nil, head, err
	}
	releases, err := view.LatestReleases(ctx, 0)
	if err != nil {
		return nil, head, err
	}
	var out []PublicRecord
	for _, r := range releases {
		rec, err := s.publicRecord(ctx, r)
		if err != nil {
			return nil, head, err
		}
		out = append(out, rec)
	}
	return out, head, nil
}

// ReleaseRecord returns the approval record of one release the view lists.
func (s *Service) ReleaseRecord(ctx context.Context, view *catalogue.View, datasetSlug string, version int) (PublicRecord, error) {
	r, err := view.Release(ctx, datasetSlug, version)
	if err != nil {
		return PublicRecord{}, err
	}
	return s.publicRecord(ctx, r)
}

func (s *Service) publicRecord(ctx context.Context, r catalogue.Release) (PublicRecord, error) {
	rec := PublicRecord{Release: r}
	full, err := s.release(ctx, r.ID)
	if err != nil {
		return rec, err
	}
	approvals, err := s.Approvals(ctx, full)
	if err != nil {
		return rec, err
	}
	for _, a := range approvals {
		rec.Approvals = append(rec.Approvals, PublicApproval{Name: a.ReviewerName, At: a.At})
	}
	if rec.AccessList, err = s.workflow.AccessList(ctx, r.ID); err != nil {
		return rec, err
	}
	for i := range rec.AccessList {
		rec.AccessList[i].Username = "" // names and roles are public; account names are not
	}
	return rec, nil
}

// publicEntry is one audit log entry as the public export writes it.
type publicEntry struct {
	Seq         int64               `json:"seq"`
	At          string              `json:"at"`
	Actor       string              `json:"actor"`
	Action      string              `json:"action"`
	Release     int64               `json:"release,omitempty"`
	Files       []auditlog.FileHash `json:"files,omitempty"`
	Details     json.RawMessage     `json:"details,omitempty"`
	PayloadHash string              `json:"payloadHash"`
	Prev        string              `json:"prev"`
	Hash        string              `json:"hash"`
	Redacted    bool                `json:"redacted,omitempty"`
}

// WriteAuditLog writes the audit log for the public as JSON Lines, one
// entry per line, oldest first. Entries about a release whose content the
// view does not show, and entries about accounts, are redacted: their files
// and details are left out but their payload hash is kept, so anyone can
// still recompute every link of the chain.
func (s *Service) WriteAuditLog(ctx context.Context, view *catalogue.View, w io.Writer) error {
	visible, err := view.ContentVisibleReleases(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for e, err := range s.workflow.AuditLog().Entries(ctx, 0) {
		if err != nil {
			return err
		}
		redact := e.Release == 0 && !publicAction(e.Action) || e.Release != 0 && !slices.Contains(visible, e.Release)
		if redact {
			e = e.Redacted()
		}
		if err := enc.Encode(publicEntry{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action,
			Release: e.Release, Files: e.Files, Details: e.Details, PayloadHash: e.PayloadHash, Prev: e.Prev, Hash: e.Hash,
			Redacted: redact}); err != nil {
			return err
		}
	}
	return nil
}

// publicAction reports whether an entry not about a release is public in
// full: calendar announcements and the data release register are.
func publicAction(action string) bool {
	for _, prefix := range []string{"calendar.", "register."} {
		if len(action) >= len(prefix) && action[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// VerifyAuditLog recomputes the whole chain and checks it still holds
// every known head (auditlog.VerifyHeads); it returns the head, or an
// error naming the first entry that does not match or the heads missing.
func (s *Service) VerifyAuditLog(ctx context.Context, known ...auditlog.KnownHead) (auditlog.Head, error) {
	return auditlog.VerifyHeads(s.workflow.AuditLog().Entries(ctx, 0), known)
}

// ReleaseAuditHeads returns the chain head recorded at the publication of
// every release that has one (published, superseded or withdrawn since),
// as its manifest carries it, oldest first.
func (s *Service) ReleaseAuditHeads(ctx context.Context) ([]auditlog.KnownHead, error) {
	releases, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal(),
		States: []catalogue.ReleaseState{catalogue.StatePublished, catalogue.StateSuperseded, catalogue.StateWithdrawn}})
	if err != nil {
		return nil, err
	}
	var out []auditlog.KnownHead
	for _, r := range releases {
		if r.AuditHead.IsZero() {
			continue
		}
		out = append(out, auditlog.KnownHead{Head: auditlog.Head{Seq: r.AuditHead.Seq, Hash: r.AuditHead.Hash},
			Source: fmt.Sprintf("the manifest of release %s version %d (/datasets/%s/releases/%d/manifest.json)",
				r.Dataset.Slug, r.Version, r.Dataset.Slug, r.Version)})
	}
	slices.SortFunc(out, func(a, b auditlog.KnownHead) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}
