package publisher

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators/audit"
)

// Search documents. The publisher produces what the catalogue's search
// index holds (architecture.md §1): a release's document is written when
// the release is submitted, tagged with it, so the index never needs a
// write at publication — the index excludes, inside every query, the
// releases the catalogue does not show. Everything else in the index
// (datasets, organisations, indicators, audits, pages, calendar entries)
// is derived from the published view and brought up to date by difference
// whenever what the public sees changes (SyncSearch).

// releaseDocument is a release's search document: its title, summary,
// change notes, period, and the names and codes of the organisations its
// files mention (its values, as far as search goes).
func (s *Service) releaseDocument(ctx context.Context, r catalogue.Release) (catalogue.SearchDocument, error) {
	d, err := s.catalogue.GetDataset(ctx, r.Dataset.Slug, catalogue.Internal())
	if err != nil {
		return catalogue.SearchDocument{}, err
	}
	mentions, err := s.catalogue.ReleaseMentions(ctx, r.ID)
	if err != nil {
		return catalogue.SearchDocument{}, err
	}
	var text strings.Builder
	for _, t := range []string{r.Summary, r.PeriodLabel, r.ChangeNotes, r.CorrectionNotice, d.Title} {
		if strings.TrimSpace(t) != "" {
			text.WriteString(t)
			text.WriteString("\n")
		}
	}
	for i, m := range mentions {
		if i == 2000 {
			break
		}
		text.WriteString(m.Code)
		if m.Name != "" {
			text.WriteString(" " + m.Name)
		}
		text.WriteString("; ")
	}
	updated := r.PublishedAt
	if updated.IsZero() {
		updated = r.CreatedAt
	}
	return catalogue.SearchDocument{ID: releaseDocumentID(r.ID), Kind: catalogue.KindRelease, Release: r.ID,
		URL: fmt.Sprintf("/datasets/%s/releases/%d", r.Dataset.Slug, r.Version), Title: r.Title, Text: text.String(),
		Publisher: d.Publisher.Name, Topics: d.Topics, Licence: d.Licence, Frequency: d.Frequency, Granularity: d.Granularity,
		Updated: updated}, nil
}

// releaseDocumentID is the search document id of a release.
func releaseDocumentID(id int64) string { return "release:" + strconv.FormatInt(id, 10) }

// indexRelease writes a release's document (before publication: the index
// does not show it until the release is visible).
func (s *Service) indexRelease(ctx context.Context, r catalogue.Release) error {
	if s.search == nil {
		return nil
	}
	doc, err := s.releaseDocument(ctx, r)
	if err != nil {
		return err
	}
	return s.search.Put(ctx, []catalogue.SearchDocument{doc})
}

var (
	tags       = regexp.MustCompile(`<[^>]*>`)
	outcodeRe  = regexp.MustCompile(`^([A-Z]{1,2}[0-9][0-9A-Z]?) ?[0-9][A-Z]{2}$`)
	spacesRe   = regexp.MustCompile(`\s+`)
	searchLock sync.Mutex
)

// Outcode returns a postcode's outward code ("TS18" of "TS18 1HU").
func Outcode(postcode string) string {
	m := outcodeRe.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(postcode)))
	if m == nil {
		return ""
	}
	return m[1]
}

// publicDocuments builds the documents of everything public as it is.
func (s *Service) publicDocuments(ctx context.Context, at time.Time) ([]catalogue.SearchDocument, error) {
	v := catalogue.Published(s.catalogue, at)
	var docs []catalogue.SearchDocument

	for offset := 0; ; offset += 500 {
		page, err := v.Datasets(ctx, catalogue.DatasetQuery{Offset: offset, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, d := range page.Datasets {
			doc := catalogue.SearchDocument{ID: "dataset:" + d.Slug, Kind: catalogue.KindDataset, URL: "/datasets/" + d.Slug,
				Title: d.Title, Text: d.Summary + "\n" + d.Description, Codes: []string{d.Slug},
				Publisher: d.Publisher.Name, Topics: d.Topics, Licence: d.Licence, Frequency: d.Frequency, Granularity: d.Granularity,
				Status: string(d.Status), Updated: d.UpdatedAt}
			if d.Latest != nil && !d.Latest.PublishedAt.IsZero() {
				doc.Updated = d.Latest.PublishedAt
			}
			if d.Inventory != nil {
				doc.Text += "\n" + d.Inventory.Name + "\n" + d.Inventory.Description
			}
			docs = append(docs, doc)
		}
		if offset+500 >= page.Total {
			break
		}
	}

	outcodes, err := v.Outcodes(ctx)
	if err != nil {
		return nil, err
	}
	for offset := 0; ; offset += 5000 {
		page, err := v.Organisations(ctx, catalogue.OrganisationQuery{Offset: offset, Limit: 5000})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Organisations {
			docs = append(docs, organisationDocument(o, outcodes))
		}
		if offset+5000 >= page.Total {
			break
		}
	}

	ids, err := v.ContentVisibleReleases(ctx)
	if err != nil {
		return nil, err
	}
	visible := datasets.NewVisible(ids...)
	if s.observations != nil {
		defs, err := s.observations.Definitions(ctx, visible)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			docs = append(docs, catalogue.SearchDocument{ID: "indicator:" + d.ID, Kind: catalogue.KindIndicator, URL: "/indicators/" + d.ID,
				Title: d.Title, Text: d.Description + "\n" + d.WhyItMatters, Codes: []string{d.ID}})
		}
	}
	if s.audits != nil {
		rs, err := s.audits.Audits(ctx, visible)
		if err != nil {
			return nil, err
		}
		newest := map[string]audit.Released{}
		for _, r := range rs {
			newest[r.Definition.ID] = r
		}
		for id, r := range newest {
			def := r.Definition
			var text strings.Builder
			fmt.Fprintf(&text, "%s. %s. %s. %s.\n", def.ClinicalArea, def.AuditBody, def.Coverage, def.Period)
			for _, m := range def.Measures {
				fmt.Fprintf(&text, "%s: %s\n", m.Title, m.Description)
			}
			if def.Synthetic {
				text.WriteString(audit.SyntheticNote + "\n")
			}
			text.WriteString(def.Methodology)
			docs = append(docs, catalogue.SearchDocument{ID: "audit:" + id, Kind: catalogue.KindAudit, URL: "/audits/" + id,
				Title: def.Name, Text: text.String(), Codes: []string{id}, Publisher: def.AuditBody})
		}
	}
	if s.content != nil {
		for _, p := range s.content.Pages() {
			body := html.UnescapeString(tags.ReplaceAllString(string(p.HTML), " "))
			docs = append(docs, catalogue.SearchDocument{ID: "page:" + p.Slug, Kind: catalogue.KindPage, URL: "/pages/" + p.Slug,
				Title: p.Title, Text: p.Summary + "\n" + spacesRe.ReplaceAllString(body, " ")})
		}
	}
	entries, err := v.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Status != catalogue.CalendarAnnounced {
			continue
		}
		when := "provisionally " + e.ProvisionalMonth
		if !e.ConfirmedAt.IsZero() {
			when = catalogue.FormatInstant(e.ConfirmedAt)
		}
		text := fmt.Sprintf("%s, %s: to be published %s.", e.Dataset.Title, e.PeriodLabel, when)
		for _, c := range e.Changes {
			text += " Date changed from " + c.From + " to " + c.To + ": " + c.Reason + "."
		}
		docs = append(docs, catalogue.SearchDocument{ID: "calendar:" + strconv.FormatInt(e.ID, 10), Kind: catalogue.KindCalendar,
			URL: "/calendar", Title: e.Dataset.Title + ", " + e.PeriodLabel + " (announced)", Text: text, Updated: e.AnnouncedAt})
	}
	return docs, nil
}

// organisationDocument is an organisation's search document: found by its
// name, code, postcode (with or without the space), postcode district and
// town, and placed on the map by its own location or, approximately, by
// its postcode district's centre.
func organisationDocument(o catalogue.Organisation, outcodes map[string]catalogue.LatLon) catalogue.SearchDocument {
	title := o.Name
	if title == "" {
		title = o.Type.Label() + " " + o.Code
	}
	doc := catalogue.SearchDocument{ID: "organisation:" + o.Code, Kind: catalogue.KindOrganisation, URL: "/organisations/" + o.Code,
		Title: catalogue.TitleCase(title), Codes: []string{o.Code}, Places: o.Address, OrgType: string(o.Type), Region: o.RegionCode,
		Text: o.Type.Label() + ". " + o.Status.Label() + ".", Closed: notOpen(o.Status), OrgStatus: string(o.Status)}
	if o.Postcode != "" {
		doc.Codes = append(doc.Codes, o.Postcode)
		if oc := Outcode(o.Postcode); oc != "" {
			doc.Codes = append(doc.Codes, oc)
			if o.Location == nil {
				if p, ok := outcodes[oc]; ok {
					doc.Location, doc.Approximate = &p, true
				}
			}
		}
	}
	if o.Location != nil {
		doc.Location = o.Location
	}
	for _, d := range o.Details {
		if d.Label == "Run by" || d.Label == "Sector" {
			doc.Text += " " + d.Label + ": " + d.Value + "."
		}
	}
	return doc
}

// notOpen says an organisation's status rules it out of "near you" lists:
// closed, dormant or not yet opened. (An unknown status is a code only
// datasets name, with no place on the map anyway.)
func notOpen(s catalogue.OrganisationStatus) bool {
	return s == catalogue.StatusClosed || s == catalogue.StatusDormant || s == catalogue.StatusProposed
}

// SyncSearch brings the index's public documents up to date with the
// published view, by difference, and refreshes the documents of releases
// that became visible (their publication instant). It is cheap when
// nothing changed.
func (s *Service) SyncSearch(ctx context.Context) error {
	if s.search == nil {
		return nil
	}
	searchLock.Lock()
	defer searchLock.Unlock()
	now := s.now()
	docs, err := s.publicDocuments(ctx, now)
	if err != nil {
		return err
	}
	have, err := s.search.Hashes(ctx)
	if err != nil {
		return err
	}
	var put []catalogue.SearchDocument
	want := make(map[string]bool, len(docs))
	for _, d := range docs {
		want[d.ID] = true
		if have[d.ID] != catalogue.SearchDocumentHash(d) {
			put = append(put, d)
		}
	}
	var del []string
	for id := range have {
		if !want[id] {
			del = append(del, id)
		}
	}
	ids, err := catalogue.Published(s.catalogue, now).ContentVisibleReleases(ctx)
	if err != nil {
		return err
	}
	s.searchMu.Lock()
	if s.searchSynced == nil {
		s.searchSynced = map[int64]bool{}
	}
	var fresh []int64
	for _, id := range ids {
		if !s.searchSynced[id] {
			fresh = append(fresh, id)
		}
	}
	s.searchMu.Unlock()
	indexed := map[string]string{}
	if len(fresh) > 0 {
		if indexed, err = s.search.ReleaseHashes(ctx); err != nil {
			return err
		}
	}
	for _, id := range fresh {
		r, err := s.catalogue.ReleaseByID(ctx, id)
		if err != nil {
			return err
		}
		doc, err := s.releaseDocument(ctx, r)
		if err != nil {
			return err
		}
		// At start every visible release is fresh; most are indexed as
		// they are, and indexing them again was most of a large
		// catalogue's start-up.
		if indexed[doc.ID] != catalogue.SearchDocumentHash(doc) {
			put = append(put, doc)
		}
	}
	if len(del) > 0 {
		if err := s.search.Delete(ctx, del); err != nil {
			return err
		}
	}
	if len(put) > 0 {
		if err := s.search.Put(ctx, put); err != nil {
			return err
		}
	}
	s.searchMu.Lock()
	for _, id := range fresh {
		s.searchSynced[id] = true
	}
	s.searchMu.Unlock()
	if len(put)+len(del) > 0 {
		s.log.Info("search index brought up to date", "written", len(put), "removed", len(del))
	}
	return nil
}

// FillSearch writes every document into a new, empty index: the public
// ones and those of every release that may yet be, or has been, public.
func (s *Service) FillSearch(ctx context.Context, idx catalogue.SearchIndex) error {
	docs, err := s.publicDocuments(ctx, s.now())
	if err != nil {
		return err
	}
	rs, err := s.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal()})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.State == catalogue.StateCancelled || r.State == catalogue.StateRejected {
			continue
		}
		doc, err := s.releaseDocument(ctx, r)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	return idx.Put(ctx, docs)
}

// UseSearch gives the service its search index (after it is opened or
// built) and keeps it in step with the published view from then on: every
// change of what the public sees schedules a sync, coalesced, on a
// goroutine that stops with ctx.
func (s *Service) UseSearch(ctx context.Context, idx catalogue.SearchIndex) error {
	s.search = idx
	s.searchMu.Lock()
	s.searchSynced = nil
	s.searchMu.Unlock()
	if err := s.SyncSearch(ctx); err != nil {
		return err
	}
	kick := make(chan struct{}, 1)
	s.OnPublicChange(func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				if err := s.SyncSearch(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("search index sync failed", "error", err)
				}
			}
		}
	}()
	return nil
}
