// Package websub is Candour's WebSub hub (W3C Recommendation, 2018): an
// intermediary subscribes a callback to one of the site's feeds (the
// topic), the hub verifies the subscriber's intent, and whenever the
// feed's content changes — a publication at its embargo instant, a
// correction, a withdrawal — the hub delivers the new content to every
// subscriber, signed with the subscriber's secret (X-Hub-Signature:
// sha256=…), retried with backoff until it is accepted. Subscriptions
// carry a lease and expire; subscribing again renews one.
//
// The hub owns subscriptions and delivery. It reads feeds only through
// the Render function it is given (the site's own feed renderer, which
// reads only the published view), so it can deliver nothing the public
// cannot read, and nothing before it is public: it compares what the feed
// says now with what it last delivered, every Interval.
//
// It must not store anything public: callbacks and secrets are the
// subscribers' and stay private (never in a public snapshot).
package websub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Subscription is one callback's subscription to one topic.
type Subscription struct {
	Topic    string
	Callback string
	Secret   string // HMAC key for X-Hub-Signature; "" for none
	Expires  time.Time
	// Delivered is the SHA-256 (hex) of the content last delivered, or of
	// the topic's content when the subscription was verified.
	Delivered string
}

// Store keeps subscriptions.
type Store interface {
	// Put adds or renews the subscription of (Topic, Callback).
	Put(ctx context.Context, s Subscription) error
	// Delete removes one.
	Delete(ctx context.Context, topic, callback string) error
	// Active lists the subscriptions whose lease runs past now, and
	// removes the rest.
	Active(ctx context.Context, now time.Time) ([]Subscription, error)
	// MarkDelivered records the digest of the content delivered.
	MarkDelivered(ctx context.Context, topic, callback, digest string) error
}

// Content is a topic's content as the hub delivers it.
type Content struct {
	Body        []byte
	ContentType string
}

// Render returns a topic's content now, or an error when the address is
// not a topic of this site (ErrNotTopic) or cannot be read.
type Render func(ctx context.Context, topic string) (Content, error)

// ErrNotTopic is Render's error for an address that is not a feed of
// this site.
var ErrNotTopic = errors.New("not a feed of this site")

// Lease bounds, in seconds.
const (
	DefaultLease = 10 * 24 * 3600
	MinLease     = 60
	MaxLease     = 30 * 24 * 3600
)

// Hub is the WebSub hub.
type Hub struct {
	Path   string // the hub's path on the site ("/websub"), for Link headers
	Store  Store
	Render Render
	Client *http.Client
	Now    func() time.Time
	Log    *slog.Logger
	// Interval is how often topics are compared with what was delivered.
	Interval time.Duration
	// PrivateCallbacks allows callbacks on loopback and private addresses
	// (tests and closed networks); otherwise such callbacks are refused,
	// so the hub cannot be used to reach the server's own network.
	PrivateCallbacks bool
	// Retries are the waits between attempts to deliver one change.
	Retries []time.Duration

	mu      sync.Mutex
	pending map[string]*retry // by topic NUL callback
	nudge   chan struct{}
}

// retry is a delivery that failed, to be tried again.
type retry struct {
	attempt int
	next    time.Time
	digest  string
}

// DefaultRetries back off from a second to ten minutes.
var DefaultRetries = []time.Duration{time.Second, 4 * time.Second, 15 * time.Second, time.Minute, 10 * time.Minute}

// Request is a subscriber's request to the hub (its hub.* form fields).
type Request struct {
	Mode, Topic, Callback, Secret, LeaseSeconds string
}

// RequestError is a request the hub refuses: its message names the field.
type RequestError struct{ Field, Message string }

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

// Accept checks a subscription request and, when it is well formed,
// verifies the subscriber's intent in the background (the hub answers
// 202 Accepted at once, as the Recommendation says).
func (h *Hub) Accept(ctx context.Context, r Request) error {
	if r.Mode != "subscribe" && r.Mode != "unsubscribe" {
		return &RequestError{"hub.mode", "must be subscribe or unsubscribe"}
	}
	if _, err := h.Render(ctx, r.Topic); errors.Is(err, ErrNotTopic) {
		return &RequestError{"hub.topic", fmt.Sprintf("%q is not a feed of this site (one of its /feeds/releases.atom, .rss or .json addresses, with dataset, publisher or topic)", r.Topic)}
	} else if err != nil {
		return err
	}
	if err := h.checkCallback(r.Callback); err != nil {
		return &RequestError{"hub.callback", err.Error()}
	}
	lease := DefaultLease
	if r.LeaseSeconds != "" {
		n, err := strconv.Atoi(r.LeaseSeconds)
		if err != nil || n < 1 {
			return &RequestError{"hub.lease_seconds", "must be a whole number of seconds"}
		}
		lease = min(max(n, MinLease), MaxLease)
	}
	if len(r.Secret) > 199 {
		return &RequestError{"hub.secret", "must be shorter than 200 bytes"}
	}
	go h.verify(context.WithoutCancel(ctx), r, lease)
	return nil
}

// checkCallback refuses a callback that is not an absolute http(s)
// address, or (unless PrivateCallbacks) is on a loopback, private or
// link-local address.
func (h *Hub) checkCallback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https address")
	}
	if h.PrivateCallbacks {
		return nil
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return fmt.Errorf("its host %s does not resolve", u.Hostname())
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			return fmt.Errorf("its host %s is on a private network", u.Hostname())
		}
	}
	return nil
}

// verify asks the callback to confirm the request (a GET with a
// challenge it must echo) and, if it does, stores or removes the
// subscription.
func (h *Hub) verify(ctx context.Context, r Request, lease int) {
	challenge := randomToken()
	q := url.Values{"hub.mode": {r.Mode}, "hub.topic": {r.Topic}, "hub.challenge": {challenge}}
	if r.Mode == "subscribe" {
		q.Set("hub.lease_seconds", strconv.Itoa(lease))
	}
	u, _ := url.Parse(r.Callback)
	query := u.Query()
	for k, v := range q {
		query[k] = v
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		h.Log.Info("websub: intent not verified", "callback", r.Callback, "err", err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || strings.TrimSpace(string(body)) != challenge {
		h.Log.Info("websub: intent not verified", "callback", r.Callback, "status", resp.StatusCode)
		return
	}
	if r.Mode == "unsubscribe" {
		if err := h.Store.Delete(ctx, r.Topic, r.Callback); err != nil {
			h.Log.Error("websub: unsubscribe", "err", err)
		}
		return
	}
	content, err := h.Render(ctx, r.Topic)
	if err != nil {
		h.Log.Error("websub: reading the topic", "topic", r.Topic, "err", err)
		return
	}
	s := Subscription{Topic: r.Topic, Callback: r.Callback, Secret: r.Secret, Delivered: digest(content.Body),
		Expires: h.Now().Add(time.Duration(lease) * time.Second)}
	if err := h.Store.Put(ctx, s); err != nil {
		h.Log.Error("websub: subscribe", "err", err)
	}
}

// Run compares every subscribed topic with what was delivered, every
// Interval, and delivers what changed, until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	h.Nudge() // makes the channel
	h.mu.Lock()
	nudged := h.nudge
	h.mu.Unlock()
	for {
		h.Deliver(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-nudged:
		}
	}
}

// Deliver makes one round: each active subscription whose topic's
// content differs from what it was last given gets the content now
// (unless a failed delivery is waiting for its next attempt).
func (h *Hub) Deliver(ctx context.Context) {
	subs, err := h.Store.Active(ctx, h.Now())
	if err != nil {
		h.Log.Error("websub: subscriptions", "err", err)
		return
	}
	contents := map[string]Content{}
	for _, s := range subs {
		c, ok := contents[s.Topic]
		if !ok {
			if c, err = h.Render(ctx, s.Topic); err != nil {
				h.Log.Error("websub: reading the topic", "topic", s.Topic, "err", err)
				continue
			}
			contents[s.Topic] = c
		}
		d := digest(c.Body)
		if d == s.Delivered || !h.due(s, d) {
			continue
		}
		if err := h.send(ctx, s, c); err != nil {
			h.failed(s, d, err)
			continue
		}
		h.succeeded(s)
		if err := h.Store.MarkDelivered(ctx, s.Topic, s.Callback, d); err != nil {
			h.Log.Error("websub: recording a delivery", "err", err)
		}
	}
}

// due reports whether a delivery of digest d to s may be tried now.
func (h *Hub) due(s Subscription, d string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.pending[s.Topic+"\x00"+s.Callback]
	return r == nil || r.digest != d || !h.Now().Before(r.next)
}

func (h *Hub) failed(s Subscription, d string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending == nil {
		h.pending = map[string]*retry{}
	}
	key := s.Topic + "\x00" + s.Callback
	r := h.pending[key]
	if r == nil || r.digest != d {
		r = &retry{digest: d}
		h.pending[key] = r
	}
	wait := h.Retries[min(r.attempt, len(h.Retries)-1)]
	r.attempt++
	r.next = h.Now().Add(wait)
	h.Log.Info("websub: delivery failed, will retry", "callback", s.Callback, "attempt", r.attempt, "in", wait, "err", err)
}

func (h *Hub) succeeded(s Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.pending, s.Topic+"\x00"+s.Callback)
}

// send POSTs content to the subscriber, with the hub and topic as Link
// headers and, given a secret, its HMAC-SHA256 signature.
func (h *Hub) send(ctx context.Context, s Subscription, c Content) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Callback, bytes.NewReader(c.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", c.ContentType)
	req.Header.Add("Link", "<"+h.URLFor(s.Topic)+`>; rel="hub"`)
	req.Header.Add("Link", "<"+s.Topic+`>; rel="self"`)
	if s.Secret != "" {
		req.Header.Set("X-Hub-Signature", "sha256="+Sign(s.Secret, c.Body))
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the callback answered %d", resp.StatusCode)
	}
	return nil
}

// URLFor is the hub's address on the site of topic.
func (h *Hub) URLFor(topic string) string {
	u, err := url.Parse(topic)
	if err != nil {
		return h.Path
	}
	return u.Scheme + "://" + u.Host + h.Path
}

// Nudge asks Run to compare the topics now (the published view changed).
func (h *Hub) Nudge() {
	h.mu.Lock()
	if h.nudge == nil {
		h.nudge = make(chan struct{}, 1)
	}
	ch := h.nudge
	h.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Sign is the hex HMAC-SHA256 of body with secret, as X-Hub-Signature
// carries it after "sha256=".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
