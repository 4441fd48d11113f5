// Package searchbleve is the catalogue's search index (catalogue.SearchIndex)
// on bleve, in a folder of the data directory.
//
// # Analysis
//
// Each field is analysed for what it holds: titles twice, with English
// stemming ("title") and without ("name", for prefixes: "Dens" finds "The
// Densham Surgery", and for fuzzy matches of names); prose with English
// stemming ("text"); codes as exact keywords, normalised to upper case
// without spaces, so "TS18 1HU", "ts181hu" and "TS181HU" are one code;
// places with the standard analyser, matched fuzzily so a misspelt town is
// found; facets as keywords. Titles weigh more than prose, an exact code
// most of all.
//
// # Visibility
//
// A document tagged with a release is found, and counted in facets, only
// when that release is in the query's visible set: the index keeps which
// releases it holds and excludes, inside the query, every one the caller
// did not say is visible, so the catalogue's answer stays the authority
// and nothing needs re-indexing at publication or withdrawal.
//
// # Building
//
// An index is complete only when a marker file says so: Create builds into
// a new folder and swaps it in whole, and Open refuses a missing,
// incomplete or unreadable index (ErrRebuild), so a half-built index is
// never served. The marker names the index's format: an index built by a
// version of Candour that laid it out differently is rebuilt, not read
// with the wrong fields.
package searchbleve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/edgengram"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	unicodetok "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/candour/candour/catalogue"
)

// ErrRebuild means the index folder is missing, incomplete or unreadable
// and must be built again (Create).
var ErrRebuild = errors.New("the search index must be rebuilt")

// completeMarker is written into an index folder once it is fully built.
// Its first line is the index's format (indexFormat).
const completeMarker = "candour-index-complete"

// indexFormat names what the index holds; an index of another format is
// rebuilt (Open returns ErrRebuild). Format 2 counts facets from one
// field (fFacets).
const indexFormat = "candour search index format 2"

// Index implements catalogue.SearchIndex.
type Index struct {
	idx       bleve.Index
	dir       string
	closeOnce sync.Once

	mu            sync.RWMutex
	releases      map[string]int64  // document id → its release, for documents tagged with one
	releaseHashes map[string]string // document id → content hash, for those
	hashes        map[string]string // document id → content hash, for the others
	version       uint64            // counts changes to releases
	// The last hidden-release answer, for the visible set it was for (a
	// copy, compared whole: a hash of it cost a quarter of a millisecond
	// a query at 31,000 releases, and could collide).
	hiddenFor     []int64
	hiddenVersion uint64
	hiddenCache   []int64
	hiddenValid   bool
}

var _ catalogue.SearchIndex = (*Index)(nil)

// Field names.
const (
	fKind, fRelease, fTitle, fName, fText, fCodes, fPlaces    = "kind", "release", "title", "name", "text", "codes", "places"
	fUpdated, fLocation, fDoc, fHash, fPrefix, fCare, fClosed = "updated", "location", "doc", "hash", "prefix", "care", "closed"
	fFacets                                                   = "facets"
)

// Facets are counted from one field, fFacets, which holds a document's
// value of every facet as "facet:value"; the facet fields themselves
// (facetFields) are for filters. A query's facet counts visit each hit's
// values once, not once per facet: nine fields each cost a look-up, a
// position and often a block to decompress per hit, over half of a broad
// query's time by profile.

var facetFields = map[string]string{
	catalogue.FacetKind: fKind, catalogue.FacetPublisher: "publisher", catalogue.FacetTopic: "topic",
	catalogue.FacetLicence: "licence", catalogue.FacetFrequency: "frequency", catalogue.FacetGranularity: "granularity",
	catalogue.FacetStatus: "status", catalogue.FacetOrgType: "orgtype", catalogue.FacetRegion: "region",
}

// prefixAnalyzer indexes every beginning (2 to 15 letters) of each word
// of a name, so a prefix is one exact term: "dens" finds "Densham"
// without expanding into every word that starts so.
const prefixAnalyzer = "candour_name_prefix"

func newMapping() (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomTokenFilter("candour_edge_2_15", map[string]any{"type": edgengram.Name, "back": false, "min": 2.0, "max": 15.0}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(prefixAnalyzer, map[string]any{"type": custom.Name, "tokenizer": unicodetok.Name,
		"token_filters": []any{lowercase.Name, "candour_edge_2_15"}}); err != nil {
		return nil, err
	}
	im.DefaultAnalyzer = en.AnalyzerName
	im.StoreDynamic = false
	im.IndexDynamic = false
	doc := bleve.NewDocumentStaticMapping()
	text := func(analyzer string) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	facets := text(keyword.Name)
	facets.DocValues = true
	doc.AddFieldMappingsAt(fTitle, text(en.AnalyzerName))
	doc.AddFieldMappingsAt(fName, text(standard.Name))
	doc.AddFieldMappingsAt(fPrefix, text(prefixAnalyzer))
	doc.AddFieldMappingsAt(fText, text(en.AnalyzerName))
	doc.AddFieldMappingsAt(fPlaces, text(standard.Name))
	doc.AddFieldMappingsAt(fCodes, text(keyword.Name))
	doc.AddFieldMappingsAt(fRelease, text(keyword.Name))
	doc.AddFieldMappingsAt(fCare, text(keyword.Name))
	doc.AddFieldMappingsAt(fClosed, text(keyword.Name))
	for _, f := range facetFields {
		doc.AddFieldMappingsAt(f, text(keyword.Name))
	}
	doc.AddFieldMappingsAt(fFacets, facets)
	updated := bleve.NewDateTimeFieldMapping()
	updated.Store, updated.IncludeInAll = false, false
	doc.AddFieldMappingsAt(fUpdated, updated)
	loc := bleve.NewGeoPointFieldMapping()
	loc.Store, loc.IncludeInAll = false, false
	doc.AddFieldMappingsAt(fLocation, loc)
	stored := bleve.NewTextFieldMapping()
	stored.Index, stored.Store, stored.IncludeInAll, stored.DocValues = false, true, false, false
	doc.AddFieldMappingsAt(fDoc, stored)
	hash := bleve.NewTextFieldMapping()
	hash.Analyzer, hash.Store, hash.IncludeInAll = keyword.Name, true, false
	doc.AddFieldMappingsAt(fHash, hash)
	im.DefaultMapping = doc
	return im, nil
}

// Open opens a complete index in dir; ErrRebuild when there is none.
func Open(dir string) (*Index, error) {
	marker, err := os.ReadFile(filepath.Join(dir, completeMarker))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is missing or was not finished", ErrRebuild, dir)
	}
	if format, _, _ := strings.Cut(string(marker), "\n"); format != indexFormat {
		return nil, fmt.Errorf("%w: %s was built by another version of Candour (%q, not %q)", ErrRebuild, dir, format, indexFormat)
	}
	idx, err := bleve.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRebuild, dir, err)
	}
	x := &Index{idx: idx, dir: dir}
	if err := x.load(); err != nil {
		idx.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrRebuild, dir, err)
	}
	return x, nil
}

// Create builds a new index for dir: fill writes every document into it,
// then it is marked complete and replaces whatever was in dir. Until then
// nothing in dir changes.
func Create(ctx context.Context, dir string, fill func(context.Context, *Index) error) (*Index, error) {
	building := dir + ".building"
	if err := os.RemoveAll(building); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return nil, err
	}
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.New(building, m)
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	x := &Index{idx: idx, dir: building, releases: map[string]int64{}, releaseHashes: map[string]string{}, hashes: map[string]string{}}
	if err := fill(ctx, x); err != nil {
		idx.Close()
		os.RemoveAll(building)
		return nil, err
	}
	if err := idx.Close(); err != nil {
		return nil, err
	}
	if err := mergeSegments(ctx, building); err != nil {
		os.RemoveAll(building)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(building, completeMarker), []byte(indexFormat+"\n"+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o640); err != nil {
		return nil, err
	}
	old := dir + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(building, dir); err != nil {
		return nil, err
	}
	os.RemoveAll(old)
	return Open(dir)
}

// mergeSegments merges the index built in dir, closed (so that every
// segment is on disk, where a merge takes them all), into one segment: a
// query visits every segment, and the facets read each hit's values
// segment by segment.
func mergeSegments(ctx context.Context, dir string) error {
	idx, err := bleve.Open(dir)
	if err != nil {
		return err
	}
	inner, err := idx.Advanced()
	if err == nil {
		if sc, ok := inner.(*scorch.Scorch); ok {
			if err = sc.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err == nil {
				awaitPersisted(ctx, sc)
			}
		}
	}
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	return err
}

// awaitPersisted waits, for at most a minute, until the index's current
// snapshot is on disk. ForceMerge returns once the merged segment is in
// the index's snapshot in memory; its persister writes that snapshot a
// moment later, and an index closed before then reopens with the
// segments it had before the merge (seen in CI under -race: 4 segments).
// A merge not yet written leaves a correct index, only a slower one.
func awaitPersisted(ctx context.Context, sc *scorch.Scorch) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		stats := sc.StatsMap()
		root, _ := stats["CurRootEpoch"].(uint64)
		persisted, _ := stats["LastPersistedEpoch"].(uint64)
		if persisted >= root {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// segments is how many segments the index had when it was opened.
func (x *Index) segments() (uint64, error) {
	inner, err := x.idx.Advanced()
	if err != nil {
		return 0, err
	}
	sc, ok := inner.(*scorch.Scorch)
	if !ok {
		return 0, fmt.Errorf("not a scorch index: %T", inner)
	}
	n, _ := sc.StatsMap()["TotFileSegmentsAtRoot"].(uint64)
	return n, nil
}

// Count is how many documents the index holds.
func (x *Index) Count() (uint64, error) { return x.idx.DocCount() }

// Close closes the index; closing it again does nothing.
func (x *Index) Close() error {
	var err error
	x.closeOnce.Do(func() { err = x.idx.Close() })
	return err
}

// load reads which documents are tagged with releases and the hashes of
// the others.
func (x *Index) load() error {
	x.releases, x.releaseHashes, x.hashes = map[string]int64{}, map[string]string{}, map[string]string{}
	return x.eachStored(func(id, hash string, d catalogue.SearchDocument) {
		if d.Release != 0 {
			x.releases[id], x.releaseHashes[id] = d.Release, hash
		} else {
			x.hashes[id] = hash
		}
	})
}

// Documents returns every document the index holds, as it was put, in
// the order of their ids (whatever the published view: it is the index's
// content, for tools such as benchmarks that load the same documents
// elsewhere, never for public answers).
func (x *Index) Documents(ctx context.Context) ([]catalogue.SearchDocument, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []catalogue.SearchDocument
	err := x.eachStored(func(_, _ string, d catalogue.SearchDocument) { out = append(out, d) })
	return out, err
}

// eachStored calls fn with every stored document, its id and its hash, in
// the order of their ids.
func (x *Index) eachStored(fn func(id, hash string, d catalogue.SearchDocument)) error {
	n, err := x.idx.DocCount()
	if err != nil {
		return err
	}
	const page = 10000
	for from := 0; from < int(n); from += page {
		req := bleve.NewSearchRequestOptions(query.NewMatchAllQuery(), page, from, false)
		req.Fields = []string{fHash, fDoc}
		req.SortBy([]string{"_id"})
		res, err := x.idx.Search(req)
		if err != nil {
			return err
		}
		for _, h := range res.Hits {
			raw, _ := h.Fields[fDoc].(string)
			var d catalogue.SearchDocument
			if err := json.Unmarshal([]byte(raw), &d); err != nil {
				return fmt.Errorf("document %s: %w", h.ID, err)
			}
			hash, _ := h.Fields[fHash].(string)
			fn(h.ID, hash, d)
		}
	}
	return nil
}

// Normalise is how codes are compared: upper case, without spaces.
func Normalise(code string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, code)
}

// Hash is a document's content hash (catalogue.SearchDocumentHash).
func Hash(d catalogue.SearchDocument) string { return catalogue.SearchDocumentHash(d) }

func fields(d catalogue.SearchDocument) (map[string]any, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(d.Codes))
	for _, c := range d.Codes {
		codes = append(codes, Normalise(c))
	}
	m := map[string]any{
		fKind: d.Kind, fRelease: strconv.FormatInt(d.Release, 10), fTitle: d.Title, fName: d.Title, fPrefix: d.Title, fText: d.Text,
		fCodes: codes, fPlaces: strings.Join(d.Places, " "), fDoc: string(raw), fHash: Hash(d),
	}
	// Facet fields are left out when empty, so no facet counts a blank.
	for field, v := range map[string]string{"publisher": d.Publisher, "licence": d.Licence, "frequency": d.Frequency,
		"granularity": d.Granularity, "status": d.Status, "orgtype": d.OrgType, "region": d.Region, fClosed: boolWord(d.Closed)} {
		if v != "" {
			m[field] = v
		}
	}
	if len(d.Topics) > 0 {
		m["topic"] = d.Topics
	}
	if fv := facetValues(m); len(fv) > 0 {
		m[fFacets] = fv
	}
	switch d.OrgType {
	case "gp-practice", "nhs-trust", "hospital-site":
		m[fCare] = "yes" // the places citizens look for by where they live
	}
	if !d.Updated.IsZero() {
		m[fUpdated] = d.Updated.UTC().Format(time.RFC3339)
	}
	if d.Location != nil {
		m[fLocation] = map[string]any{"lat": d.Location.Lat, "lon": d.Location.Lon}
	}
	return m, nil
}

// facetValues lists a document's facet values, as fFacets holds them,
// from its facet fields in m.
func facetValues(m map[string]any) []string {
	var out []string
	for _, facet := range catalogue.Facets {
		switch v := m[facetFields[facet]].(type) {
		case string:
			if v != "" {
				out = append(out, facet+":"+v)
			}
		case []string:
			for _, x := range v {
				if x != "" {
					out = append(out, facet+":"+x)
				}
			}
		}
	}
	return out
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// Put implements catalogue.SearchIndex.
func (x *Index) Put(ctx context.Context, docs []catalogue.SearchDocument) error {
	const batchSize = 2000
	for start := 0; start < len(docs); start += batchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := x.idx.NewBatch()
		end := min(start+batchSize, len(docs))
		for _, d := range docs[start:end] {
			if d.ID == "" || d.Kind == "" {
				return fmt.Errorf("search document %q: an id and a kind are required", d.ID)
			}
			m, err := fields(d)
			if err != nil {
				return err
			}
			if err := b.Index(d.ID, m); err != nil {
				return fmt.Errorf("search document %s: %w", d.ID, err)
			}
		}
		if err := x.idx.Batch(b); err != nil {
			return err
		}
		x.mu.Lock()
		x.version++
		for _, d := range docs[start:end] {
			if d.Release != 0 {
				x.releases[d.ID], x.releaseHashes[d.ID] = d.Release, Hash(d)
				delete(x.hashes, d.ID)
			} else {
				x.hashes[d.ID] = Hash(d)
				delete(x.releases, d.ID)
				delete(x.releaseHashes, d.ID)
			}
		}
		x.mu.Unlock()
	}
	return nil
}

// Delete implements catalogue.SearchIndex.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	b := x.idx.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	if err := x.idx.Batch(b); err != nil {
		return err
	}
	x.mu.Lock()
	x.version++
	for _, id := range ids {
		delete(x.releases, id)
		delete(x.releaseHashes, id)
		delete(x.hashes, id)
	}
	x.mu.Unlock()
	return nil
}

// Hashes implements catalogue.SearchIndex.
func (x *Index) Hashes(ctx context.Context) (map[string]string, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return maps.Clone(x.hashes), nil
}

// ReleaseHashes implements catalogue.SearchIndex.
func (x *Index) ReleaseHashes(ctx context.Context) (map[string]string, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return maps.Clone(x.releaseHashes), nil
}

// MaxQueryBytes bounds a query's text.
const MaxQueryBytes = 500

// ErrQuery marks a query the index cannot run; the message says why.
var ErrQuery = errors.New("invalid search query")

var words = regexp.MustCompile(`[\p{L}\p{N}]+`)

// stopWords are left out of place matching ("Stockton on Tees").
var stopWords = map[string]bool{"on": true, "upon": true, "the": true, "of": true, "in": true, "and": true, "by": true, "le": true, "st": false}

// Search implements catalogue.SearchIndex.
func (x *Index) Search(ctx context.Context, q catalogue.SearchQuery) (catalogue.SearchResults, error) {
	start := time.Now()
	if !utf8.ValidString(q.Text) {
		return catalogue.SearchResults{}, fmt.Errorf("%w: the text is not valid UTF-8", ErrQuery)
	}
	if len(q.Text) > MaxQueryBytes {
		return catalogue.SearchResults{}, fmt.Errorf("%w: the text is %d bytes long; at most %d", ErrQuery, len(q.Text), MaxQueryBytes)
	}
	if q.Size <= 0 {
		q.Size = 20
	}
	var must, mustNot []query.Query
	text := strings.TrimSpace(q.Text)
	tokens := words.FindAllString(strings.ToLower(text), 32)
	if len(tokens) == 0 {
		must = append(must, query.NewMatchAllQuery())
	} else {
		must = append(must, textQuery(text, tokens))
	}
	for _, facet := range catalogue.Facets {
		values := q.Filters[facet]
		if len(values) == 0 {
			continue
		}
		var any []query.Query
		for _, v := range values {
			t := query.NewTermQuery(v)
			t.SetField(facetFields[facet])
			any = append(any, t)
		}
		must = append(must, query.NewDisjunctionQuery(any))
	}
	if q.Near != nil {
		km := q.NearKM
		if km <= 0 {
			km = 25
		}
		g := query.NewGeoDistanceQuery(q.Near.Lon, q.Near.Lat, strconv.FormatFloat(km, 'f', 1, 64)+"km")
		g.SetField(fLocation)
		must = append(must, g)
		if !q.NearAny {
			closed := query.NewTermQuery("yes")
			closed.SetField(fClosed)
			mustNot = append(mustNot, closed) // nearest open places only
		}
	}
	if q.OpenCareOnly {
		closed := query.NewTermQuery("yes")
		closed.SetField(fClosed)
		other := query.NewTermQuery(string(catalogue.TypePrescribingCostCentre))
		other.SetField(facetFields[catalogue.FacetOrgType])
		mustNot = append(mustNot, closed, other)
	}
	for _, rel := range x.hidden(q.Visible) {
		t := query.NewTermQuery(strconv.FormatInt(rel, 10))
		t.SetField(fRelease)
		mustNot = append(mustNot, t)
	}
	// Datasets and organisations lead when a query matches them as well
	// as it matches releases of them.
	var should []query.Query
	// (Small: they break ties, they do not outweigh a match.)
	for kind, boost := range map[string]float64{catalogue.KindDataset: 0.08, catalogue.KindOrganisation: 0.04, catalogue.KindIndicator: 0.04} {
		t := query.NewTermQuery(kind)
		t.SetField(fKind)
		t.SetBoost(boost)
		should = append(should, t)
	}
	// Among organisations, the ones citizens look for: practices,
	// hospitals and trusts before other prescribing cost centres.
	for typ, boost := range map[string]float64{"gp-practice": 0.04, "nhs-trust": 0.04, "hospital-site": 0.03} {
		t := query.NewTermQuery(typ)
		t.SetField("orgtype")
		t.SetBoost(boost)
		should = append(should, t)
	}
	bq := query.NewBooleanQuery(must, should, mustNot)
	req := bleve.NewSearchRequestOptions(bq, q.Size, q.From, false)
	req.Fields = []string{fDoc}
	req.AddFacet(fFacets, bleve.NewFacetRequest(fFacets, math.MaxInt32))
	switch {
	case q.Near != nil:
		s, err := search.NewSortGeoDistance(fLocation, "km", q.Near.Lon, q.Near.Lat, false)
		if err != nil {
			return catalogue.SearchResults{}, err
		}
		req.SortByCustom(search.SortOrder{s, &search.SortScore{Desc: true}})
	case q.Sort == "updated":
		req.SortBy([]string{"-" + fUpdated, "-_score", "_id"})
	default:
		req.SortBy([]string{"-_score"})
	}
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return catalogue.SearchResults{}, err
	}
	out := catalogue.SearchResults{Total: int(res.Total), Facets: map[string][]catalogue.FacetCount{}}
	for _, h := range res.Hits {
		raw, _ := h.Fields[fDoc].(string)
		var d catalogue.SearchDocument
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return out, fmt.Errorf("document %s: %w", h.ID, err)
		}
		hit := catalogue.SearchHit{Document: d, Score: h.Score}
		if q.Near != nil && len(h.Sort) > 0 && d.Location != nil {
			hit.DistanceKM = haversineKM(*q.Near, *d.Location)
		}
		if q.Highlight {
			hit.Snippet, hit.Marks = snippet(d.Text, tokens)
		}
		out.Hits = append(out.Hits, hit)
	}
	out.Facets = facetCounts(res.Facets[fFacets])
	out.Took = time.Since(start)
	return out, nil
}

// facetCountsShown is the most values a facet lists, the most counted
// first.
const facetCountsShown = 50

// facetCounts splits the counts of fFacets's values into each facet's.
func facetCounts(fr *search.FacetResult) map[string][]catalogue.FacetCount {
	out := make(map[string][]catalogue.FacetCount, len(catalogue.Facets))
	for _, facet := range catalogue.Facets {
		out[facet] = nil
	}
	if fr == nil || fr.Terms == nil {
		return out
	}
	for _, t := range fr.Terms.Terms() {
		facet, value, ok := strings.Cut(t.Term, ":")
		if _, known := out[facet]; ok && known {
			out[facet] = append(out[facet], catalogue.FacetCount{Value: value, Count: t.Count})
		}
	}
	for facet, counts := range out {
		slices.SortStableFunc(counts, func(a, b catalogue.FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		out[facet] = counts[:min(len(counts), facetCountsShown)]
	}
	return out
}

// hidden lists the releases the index holds documents of that are not in
// the visible set. The answer is remembered until the set or the index's
// releases change: a site passes the same set for every query between
// publications.
func (x *Index) hidden(visible []int64) []int64 {
	x.mu.RLock()
	if x.hiddenValid && x.hiddenVersion == x.version && slices.Equal(x.hiddenFor, visible) {
		out := x.hiddenCache
		x.mu.RUnlock()
		return out
	}
	version := x.version
	vis := make(map[int64]bool, len(visible))
	for _, v := range visible {
		vis[v] = true
	}
	seen := map[int64]bool{}
	var out []int64
	for _, rel := range x.releases {
		if !vis[rel] && !seen[rel] {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	x.mu.RUnlock()
	slices.Sort(out)
	x.mu.Lock()
	if x.version == version {
		x.hiddenFor, x.hiddenVersion, x.hiddenCache, x.hiddenValid = slices.Clone(visible), version, out, true
	}
	x.mu.Unlock()
	return out
}

// textQuery matches text against each field, one flat list of weighted
// clauses: an exact code; the title (all words stemmed, any word, as a
// phrase, the last word as a prefix, fuzzily); places (every word, a
// misspelt one allowed one edit; practices and hospitals there weighted
// up); prose. Two properties of bleve shape it: a disjunction's score is
// scaled by the share of its clauses a document matches (so a title that
// matches in several ways rises, and nesting, which would compound the
// scaling, is avoided); and a conjunction's own boost is ignored, so its
// weight is put on the clauses inside it.
func textQuery(text string, tokens []string) query.Query {
	var parts []query.Query
	term := func(field, t string, boost float64) *query.TermQuery {
		q := query.NewTermQuery(t)
		q.SetField(field)
		q.SetBoost(boost)
		return q
	}
	match := func(field, t string, boost float64) *query.MatchQuery {
		q := query.NewMatchQuery(t)
		q.SetField(field)
		q.SetBoost(boost)
		return q
	}
	parts = append(parts, term(fCodes, Normalise(text), 40))
	if len(tokens) > 1 {
		for _, t := range tokens {
			if len(t) >= 3 {
				parts = append(parts, term(fCodes, Normalise(t), 10))
			}
		}
	}
	all := match(fTitle, text, 6)
	all.SetOperator(query.MatchQueryOperatorAnd)
	// When every word is in the title, trusts and datasets lead the
	// hospital sites and releases named after them.
	for field, value := range map[string]string{"orgtype": "nhs-trust", fKind: catalogue.KindDataset} {
		lead := match(fTitle, text, 3)
		lead.SetOperator(query.MatchQueryOperatorAnd)
		parts = append(parts, query.NewConjunctionQuery([]query.Query{lead, term(field, value, 3)}))
	}
	phrase := query.NewMatchPhraseQuery(text)
	phrase.SetField(fTitle)
	phrase.SetBoost(4)
	parts = append(parts, all, match(fTitle, text, 2), phrase)
	// The last word as a prefix of a name word, the others whole.
	if last := tokens[len(tokens)-1]; len(last) >= 2 {
		var conj []query.Query
		for _, t := range tokens[:len(tokens)-1] {
			conj = append(conj, match(fName, t, 4))
		}
		if len(last) > 15 {
			last = last[:15]
		}
		conj = append(conj, term(fPrefix, last, 8))
		parts = append(parts, query.NewConjunctionQuery(conj))
	}
	fuzzyName := match(fName, text, 0.5)
	fuzzyName.SetFuzziness(1)
	parts = append(parts, fuzzyName)
	// Places: every word must match; a misspelt word may be one edit away
	// when the query has several words or a long one (a single short word
	// matches exactly, so "Dens" is not taken for "Dene").
	var significant []string
	for _, t := range tokens {
		if !stopWords[t] {
			significant = append(significant, t)
		}
	}
	if len(significant) > 0 {
		fuzzy := len(significant) > 1
		place := func(boost float64) []query.Query {
			var each []query.Query
			for _, t := range significant {
				if fuzzy && len(t) >= 4 || len(t) >= 7 {
					f := query.NewFuzzyQuery(t)
					f.SetField(fPlaces)
					f.SetFuzziness(1)
					f.SetBoost(boost)
					each = append(each, f)
				} else {
					each = append(each, term(fPlaces, t, boost))
				}
			}
			return each
		}
		parts = append(parts, query.NewConjunctionQuery(place(3)))
		// A town's name finds the practices and hospitals there first.
		parts = append(parts, query.NewConjunctionQuery(append(place(8), term(fCare, "yes", 8))))
	}
	parts = append(parts, match(fText, text, 1))
	return query.NewDisjunctionQuery(parts)
}
