package site

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/site/websub"
)

// The site's WebSub hub (package websub) at /websub: every feed is a
// topic, advertised in its Link headers (rel="hub", rel="self"), its Atom
// links and its JSON Feed hubs. The hub reads topics through renderFeed,
// the feed route's own renderer over the published view, and compares
// them with what it delivered when the published view changes (NudgeHub)
// and every hubInterval besides, so content reaches subscribers within
// seconds of its embargo instant and never before. There is no hub on a
// read node (see hubPath).

// hubInterval is how often the hub compares topics without being nudged.
const hubInterval = 5 * time.Second

// newHub makes the hub over store, or nil for none.
func (s *Site) newHub(store websub.Store) *websub.Hub {
	if store == nil || s.cfg.ReadOnly {
		return nil
	}
	return &websub.Hub{Path: "/websub", Store: store, Render: s.renderTopic, Client: &http.Client{Timeout: 10 * time.Second},
		Now: time.Now, Log: s.log, Interval: hubInterval, PrivateCallbacks: s.cfg.WebSubPrivateCallbacks, Retries: websub.DefaultRetries}
}

// hubPath is the hub's path that feeds advertise, or "" for none. A read
// node advertises the publishing node's, at the same address (its feeds
// are the publishing node's, byte for byte): a deployment routes POST
// /websub to the publishing node, as it routes the workspace.
func (s *Site) hubPath() string {
	if s.hub != nil {
		return s.hub.Path
	}
	if s.cfg.ReadOnly {
		return "/websub"
	}
	return ""
}

// RunHub runs the hub's deliveries until ctx ends (at once when there is
// no hub).
func (s *Site) RunHub(ctx context.Context) {
	if s.hub != nil {
		s.hub.Run(ctx)
	}
}

// NudgeHub tells the hub the published view changed.
func (s *Site) NudgeHub() {
	if s.hub != nil {
		s.hub.Nudge()
	}
}

// renderTopic renders a feed by its address, for the hub.
func (s *Site) renderTopic(ctx context.Context, topic string) (websub.Content, error) {
	u, err := url.Parse(topic)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return websub.Content{}, websub.ErrNotTopic
	}
	format, ok := strings.CutPrefix(u.Path, "/feeds/releases.")
	if _, known := feedTypes[format]; !ok || !known {
		return websub.Content{}, websub.ErrNotTopic
	}
	q := u.Query()
	for k := range q {
		if k != "dataset" && k != "publisher" && k != "topic" {
			return websub.Content{}, websub.ErrNotTopic
		}
	}
	f := feedFilter{Dataset: q.Get("dataset"), Publisher: q.Get("publisher"), Topic: q.Get("topic")}
	if f.count() > 1 {
		return websub.Content{}, websub.ErrNotTopic
	}
	out, err := s.renderFeed(ctx, u.Scheme+"://"+u.Host, u.Hostname(), format, f)
	if err != nil {
		return websub.Content{}, err
	}
	if out.notFound {
		return websub.Content{}, websub.ErrNotTopic
	}
	return websub.Content{Body: out.body, ContentType: out.contentType}, nil
}

// websubRequest takes a subscriber's request: 202 Accepted once it is
// well formed (the hub then verifies the subscriber's intent), else 400
// naming the field, as plain text (WebSub's subscribers are programs that
// log the answer).
func (s *Site) websubRequest(c *fiber.Ctx) error {
	r := websub.Request{Mode: c.FormValue("hub.mode"), Topic: c.FormValue("hub.topic"), Callback: c.FormValue("hub.callback"),
		Secret: c.FormValue("hub.secret"), LeaseSeconds: c.FormValue("hub.lease_seconds")}
	// Topics are this site's feeds at the address the hub was reached by.
	if t, err := url.Parse(r.Topic); err == nil && t.Scheme+"://"+t.Host != c.BaseURL() {
		return c.Status(http.StatusBadRequest).SendString("hub.topic: must be a feed of " + c.BaseURL() + " (its /feeds/releases.atom, .rss or .json, with dataset, publisher or topic)\n")
	}
	err := s.hub.Accept(c.UserContext(), r)
	var bad *websub.RequestError
	if errors.As(err, &bad) {
		return c.Status(http.StatusBadRequest).SendString(bad.Error() + "\n")
	}
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).SendString("Accepted: the hub will verify the request at hub.callback.\n")
}
