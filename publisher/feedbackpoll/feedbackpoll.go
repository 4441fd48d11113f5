// Package feedbackpoll brings pooled patient feedback in and lets
// administrators moderate it: a [Poller] reads each external feedback
// service's feed on its schedule and writes what it finds to the feedback
// store, and a [Moderator] hides or releases items, recording each
// decision in the hash-chained audit log.
//
// # Polling
//
// One Poller runs in one goroutine ([Poller.Run]) and polls its sources
// one after another as each comes due; [Poller.RunOnce] polls every source
// once, now, for tests and for a command that polls once. Each request
// sends the validators of the last response that was stored in full
// (If-None-Match with its ETag, If-Modified-Since with its Last-Modified);
// a 304 Not Modified is a successful poll that changes nothing. The
// validators are remembered only in memory and only once a feed's items
// are stored, so a restart or a failed write fetches the whole feed again
// (which is harmless: items are keyed by source and id).
//
// A poll fails, and the source is retried after an exponential backoff
// ([Backoff]: the base, doubled for each consecutive failure, capped), when
// the request fails, the answer is not 200 or 304, the feed is refused as
// a whole (too large by Content-Length or by reading, nested too deep, not
// UTF-8 by its Content-Type charset or its bytes, unparseable: see
// feedback.Parse) or the store fails. A failure is logged with slog and
// never stops the poller: the next source is polled as usual.
//
// Entries are refused one by one, logged with the source, position, id and
// reason, while the rest of the feed is stored: entries the parser
// refuses, entries whose organisation code is not an organisation of the
// catalogue's directory ([Organisations]), and entries dated more than
// [MaxAhead] in the future.
//
// # Moderation and the audit log
//
// A Moderator's decision and its audit entry ("feedback.hidden" or
// "feedback.released", with the source, item id and reason as details, no
// release) commit in one transaction through a [ModerationStore]
// (moderationsqlite, over the feedback store and the audit log in the one
// SQLite database), as the workflow's steps do. The item also keeps who
// decided, when and why, and the feedback store keeps every decision.
// Entries not about a release are redacted in the public export of the
// log, so a reason is never published there; moderators should still not
// quote personal data in it.
//
// # What it must not do
//
// It renders nothing and serves nothing; it decides nothing about what a
// scorecard shows (the store's public queries do: visible items only). It
// never touches storage itself: stores come in through interfaces, and
// cmd wires the SQLite ones.
package feedbackpoll

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/candour/candour/catalogue/feedback"
)

// Organisations is the little of the catalogue the poller needs: which
// codes are organisations of the directory. catalogue.Store satisfies it.
type Organisations interface {
	OrganisationsInDirectory(ctx context.Context, codes []string) (map[string]bool, error)
}

// Config tunes a Poller. The zero Config takes every default.
type Config struct {
	// Client makes the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// Limits bound each document; zero fields take feedback.DefaultLimits'.
	Limits feedback.Limits
	// BaseBackoff is the wait after one failure (default 1 minute);
	// MaxBackoff caps the wait after many (default 6 hours).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// UserAgent names Candour to the sources.
	UserAgent string
	Now       func() time.Time
	Logger    *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 30 * time.Second}
	}
	d := feedback.DefaultLimits
	if c.Limits.MaxBytes <= 0 {
		c.Limits.MaxBytes = d.MaxBytes
	}
	if c.Limits.MaxDepth <= 0 {
		c.Limits.MaxDepth = d.MaxDepth
	}
	if c.Limits.MaxItems <= 0 {
		c.Limits.MaxItems = d.MaxItems
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = time.Minute
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 6 * time.Hour
	}
	if c.UserAgent == "" {
		c.UserAgent = "Candour feedback poller"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Poller polls feedback sources. Its methods are safe to call from
// several goroutines, but one Run is enough.
type Poller struct {
	store   feedback.Store
	orgs    Organisations
	cfg     Config
	sources []feedback.Source

	mu         sync.Mutex
	registered bool
	state      map[string]*sourceState
}

// sourceState is what the poller remembers of one source.
type sourceState struct {
	etag, lastModified string
	failures           int
	next               time.Time
}

// New returns a poller of sources, which must validate and have distinct
// names. Nothing is fetched or stored until Run or RunOnce.
func New(store feedback.Store, orgs Organisations, sources []feedback.Source, cfg Config) (*Poller, error) {
	state := map[string]*sourceState{}
	for _, s := range sources {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if state[s.Name] != nil {
			return nil, fmt.Errorf("%w: feedback source %s is configured twice", feedback.ErrInvalid, s.Name)
		}
		state[s.Name] = &sourceState{}
	}
	return &Poller{store: store, orgs: orgs, cfg: cfg.withDefaults(), sources: sources, state: state}, nil
}

// Result is what one poll of one source did.
type Result struct {
	Source string
	// NotModified is set when the source answered 304.
	NotModified bool
	Upserted    feedback.Upserted
	// Refused lists the entries not stored: refused by the parser or for
	// an organisation code outside the directory.
	Refused []feedback.Refusal
	// Err is why the poll failed (nil when it did not).
	Err error
	// Next is when the source is next due.
	Next time.Time
}

// Backoff is the wait after failures consecutive failures: base doubled
// failures-1 times, at most max.
func Backoff(failures int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// register records the sources in the store, once.
func (p *Poller) register(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.registered {
		return nil
	}
	for _, s := range p.sources {
		if err := p.store.PutSource(ctx, s); err != nil {
			return fmt.Errorf("register feedback source %s: %w", s.Name, err)
		}
	}
	p.registered = true
	return nil
}

// RunOnce polls every source now, one after another, whatever their
// schedule, and returns what each poll did. It stops early only when ctx
// ends or the sources cannot be recorded in the store.
func (p *Poller) RunOnce(ctx context.Context) ([]Result, error) {
	if err := p.register(ctx); err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range p.sources {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, p.poll(ctx, s))
	}
	return out, nil
}

// Run polls each source whenever it is due until ctx ends, then returns
// nil. Every source is due at once when Run starts. It returns an error
// only when the sources cannot be recorded in the store.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.register(ctx); err != nil {
		return err
	}
	for {
		for _, s := range p.due() {
			if ctx.Err() != nil {
				return nil
			}
			p.poll(ctx, s)
		}
		timer := time.NewTimer(p.untilNext())
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// due returns the sources whose next poll is not after now.
func (p *Poller) due() []feedback.Source {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	var out []feedback.Source
	for _, s := range p.sources {
		if !p.state[s.Name].next.After(now) {
			out = append(out, s)
		}
	}
	return out
}

// untilNext is the wait until the earliest next poll (at least a
// millisecond, at most an hour when there are no sources).
func (p *Poller) untilNext() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	wait := time.Hour
	for _, s := range p.sources {
		wait = min(wait, p.state[s.Name].next.Sub(now))
	}
	return max(wait, time.Millisecond)
}

// Next returns when a source is next due (the zero time before its first
// poll), and ok false for a source the poller does not have.
func (p *Poller) Next(source string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.state[source]
	if !ok {
		return time.Time{}, false
	}
	return st.next, true
}

// poll fetches, parses, matches and stores one source's feed, logs what
// it refused, and schedules the next poll.
func (p *Poller) poll(ctx context.Context, s feedback.Source) Result {
	res := p.fetchAndStore(ctx, s)
	if res.Err != nil && ctx.Err() != nil {
		return res // stopped, not failed: no backoff, nothing logged
	}
	p.mu.Lock()
	st := p.state[s.Name]
	now := p.cfg.Now()
	if res.Err != nil {
		st.failures++
		st.next = now.Add(Backoff(st.failures, p.cfg.BaseBackoff, p.cfg.MaxBackoff))
	} else {
		st.failures = 0
		st.next = now.Add(s.Interval)
	}
	res.Next = st.next
	failures := st.failures
	p.mu.Unlock()
	p.log(ctx, res, failures)
	return res
}

func (p *Poller) log(ctx context.Context, res Result, failures int) {
	l := p.cfg.Logger
	for _, r := range res.Refused {
		l.WarnContext(ctx, "feedback entry refused", "source", r.Source, "position", r.Position, "id", r.ID, "reason", r.Reason)
	}
	if res.Err != nil {
		l.ErrorContext(ctx, "feedback poll failed", "source", res.Source, "err", res.Err,
			"failures", failures, "retry_at", res.Next.UTC().Format(time.RFC3339))
		return
	}
	l.InfoContext(ctx, "feedback polled", "source", res.Source, "not_modified", res.NotModified,
		"added", res.Upserted.Added, "updated", res.Upserted.Updated, "held", res.Upserted.Held, "refused", len(res.Refused))
}

// fetchAndStore does one poll's work, saving the response's validators
// once its items are stored.
func (p *Poller) fetchAndStore(ctx context.Context, s feedback.Source) Result {
	res := Result{Source: s.Name}
	resp, err := p.fetch(ctx, s)
	if err != nil {
		res.Err = err
		return res
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		res.NotModified = true
		return res
	case http.StatusOK:
	default:
		res.Err = fmt.Errorf("feedback source %s: %s answered %s", s.Name, s.FeedURL, resp.Status)
		return res
	}
	if err := p.checkHeaders(s, resp); err != nil {
		res.Err = err
		return res
	}
	parsed, err := feedback.Parse(s, resp.Body, p.cfg.Limits)
	if err != nil {
		res.Err = err
		return res
	}
	items, refused, err := p.match(ctx, parsed)
	res.Refused = refused
	if err != nil {
		res.Err = err
		return res
	}
	if res.Upserted, err = p.store.Upsert(ctx, items); err != nil {
		res.Err = fmt.Errorf("feedback source %s: store: %w", s.Name, err)
		return res
	}
	p.keepValidators(s.Name, resp.Header)
	return res
}

var accept = map[feedback.Format]string{
	feedback.FormatAtom: "application/atom+xml, application/xml;q=0.9",
	feedback.FormatRSS:  "application/rss+xml, application/xml;q=0.9, text/xml;q=0.8",
	feedback.FormatJSON: "application/feed+json, application/json;q=0.9",
}

func (p *Poller) fetch(ctx context.Context, s feedback.Source) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.FeedURL, nil)
	if err != nil {
		return nil, fmt.Errorf("feedback source %s: %w", s.Name, err)
	}
	req.Header.Set("Accept", accept[s.Format])
	req.Header.Set("User-Agent", p.cfg.UserAgent)
	p.mu.Lock()
	st := p.state[s.Name]
	if st.etag != "" {
		req.Header.Set("If-None-Match", st.etag)
	}
	if st.lastModified != "" {
		req.Header.Set("If-Modified-Since", st.lastModified)
	}
	p.mu.Unlock()
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("feedback source %s: %w", s.Name, err)
	}
	return resp, nil
}

// checkHeaders refuses, before reading the body, a feed whose
// Content-Length is over the limit or whose charset is not UTF-8.
func (p *Poller) checkHeaders(s feedback.Source, resp *http.Response) error {
	if resp.ContentLength > p.cfg.Limits.MaxBytes {
		return &feedback.RefusedError{Source: s.Name,
			Err: fmt.Errorf("%w: Content-Length %d is more than %d bytes", feedback.ErrTooLarge, resp.ContentLength, p.cfg.Limits.MaxBytes)}
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return &feedback.RefusedError{Source: s.Name, Err: fmt.Errorf("%w: Content-Type %q: %v", feedback.ErrMalformed, ct, err)}
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		return &feedback.RefusedError{Source: s.Name, Err: fmt.Errorf("%w: Content-Type says charset %q", feedback.ErrEncoding, cs)}
	}
	return nil
}

// match keeps the items whose organisation is in the directory and whose
// date is not too far ahead, and refuses the others.
func (p *Poller) match(ctx context.Context, parsed feedback.Parsed) ([]feedback.Item, []feedback.Refusal, error) {
	refused := parsed.Refused
	var codes []string
	seen := map[string]bool{}
	for _, it := range parsed.Items {
		if !seen[it.Organisation] {
			seen[it.Organisation] = true
			codes = append(codes, it.Organisation)
		}
	}
	known, err := p.orgs.OrganisationsInDirectory(ctx, codes)
	if err != nil {
		return nil, refused, fmt.Errorf("match feedback to organisations: %w", err)
	}
	var items []feedback.Item
	latest := p.cfg.Now().Add(MaxAhead)
	for i, it := range parsed.Items {
		reason := ""
		switch {
		case !known[it.Organisation]:
			reason = fmt.Sprintf("organisation code %s is not in the directory", it.Organisation)
		case it.Published.After(latest):
			reason = fmt.Sprintf("published %s, more than %s from now", it.Published.Format(time.RFC3339), MaxAhead)
		default:
			items = append(items, it)
			continue
		}
		refused = append(refused, feedback.Refusal{Source: it.Source, Position: position(parsed, i), ID: it.ID, Reason: reason})
	}
	return items, refused, nil
}

// MaxAhead is how far in the future an item's publication date may be
// (clocks and zones differ); an item dated later is refused, since it
// would head an organisation's recent feedback until that date.
const MaxAhead = 24 * time.Hour

// position is an item's place among the document's entries: its index
// among items plus the refused entries before it.
func position(parsed feedback.Parsed, i int) int {
	pos := i + 1
	for _, r := range parsed.Refused {
		if r.Position <= pos {
			pos++
		}
	}
	return pos
}

func (p *Poller) keepValidators(source string, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[source]
	st.etag, st.lastModified = h.Get("ETag"), h.Get("Last-Modified")
}
