package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// websubSubscriber is a WebSub subscriber on loopback: it confirms the
// hub's verification of intent by echoing the challenge, and records
// every delivery with the time it arrived.
type websubSubscriber struct {
	srv        *httptest.Server
	mu         sync.Mutex
	verified   []url.Values
	deliveries []websubDelivery
}

type websubDelivery struct {
	at     time.Time
	body   string
	header http.Header
}

func newWebSubSubscriber(t *testing.T) *websubSubscriber {
	sub := &websubSubscriber{}
	sub.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			sub.verified = append(sub.verified, q)
			io.WriteString(w, q.Get("hub.challenge"))
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			sub.deliveries = append(sub.deliveries, websubDelivery{at: time.Now(), body: string(body), header: r.Header.Clone()})
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(sub.srv.Close)
	return sub
}

// subscribe asks the hub at base to send topic to the callback path, and
// waits until the hub has verified the subscriber's intent.
func (sub *websubSubscriber) subscribe(t *testing.T, base, topic, path, secret string) {
	t.Helper()
	form := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {sub.srv.URL + path}, "hub.lease_seconds": {"3600"}}
	if secret != "" {
		form.Set("hub.secret", secret)
	}
	resp, err := http.PostForm(base+"/websub", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("subscribing to %s: %d %s", topic, resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sub.mu.Lock()
		for _, q := range sub.verified {
			if q.Get("hub.topic") == topic && q.Get("hub.mode") == "subscribe" {
				sub.mu.Unlock()
				time.Sleep(200 * time.Millisecond) // the hub stores the subscription after the answer
				return
			}
		}
		sub.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the hub did not verify the subscription to %s", topic)
}

// received returns the deliveries so far.
func (sub *websubSubscriber) received() []websubDelivery {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return append([]websubDelivery(nil), sub.deliveries...)
}

// awaitDelivery waits up to limit for a delivery whose body holds want.
func (sub *websubSubscriber) awaitDelivery(t *testing.T, want string, limit time.Duration) websubDelivery {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, d := range sub.received() {
			if strings.Contains(d.body, want) {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no WebSub delivery holding %q within %s (%d deliveries)", want, limit, len(sub.received()))
	return websubDelivery{}
}

// websubSigned reports whether a delivery carries body's HMAC-SHA256
// with secret.
func websubSigned(d websubDelivery, secret string) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(d.body))
	return d.header.Get("X-Hub-Signature") == "sha256="+hex.EncodeToString(m.Sum(nil))
}

// TestWebSubRefusals: the hub refuses what it must, naming the field.
func TestWebSubRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	s := startCandour(t, "serve", t.TempDir())
	sub := newWebSubSubscriber(t)
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"hub.mode": {"follow"}, "hub.topic": {s.base + "/feeds/releases.atom"}, "hub.callback": {sub.srv.URL}}, "hub.mode"},
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {s.base + "/datasets"}, "hub.callback": {sub.srv.URL}}, "hub.topic"},
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {"http://elsewhere.example/feeds/releases.atom"}, "hub.callback": {sub.srv.URL}}, "hub.topic"},
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {s.base + "/feeds/releases.atom?dataset=nope"}, "hub.callback": {sub.srv.URL}}, "hub.topic"},
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {s.base + "/feeds/releases.atom"}, "hub.callback": {"ftp://x"}}, "hub.callback"},
		// Without --websub-private-callbacks, a loopback callback is refused:
		// the hub cannot be made to reach the server's own network.
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {s.base + "/feeds/releases.atom"}, "hub.callback": {sub.srv.URL}}, "private network"},
		{url.Values{"hub.mode": {"subscribe"}, "hub.topic": {s.base + "/feeds/releases.atom"}, "hub.callback": {"http://203.0.113.9/cb"}, "hub.lease_seconds": {"soon"}}, "hub.lease_seconds"},
	} {
		resp, err := http.PostForm(s.base+"/websub", tc.form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("%v: %d %s, want 400 naming %s", tc.form, resp.StatusCode, body, tc.want)
		}
	}
	if n := len(sub.received()); n != 0 || len(sub.verified) != 0 {
		t.Errorf("a refused request reached the callback")
	}
	// Feeds advertise the hub.
	_, body, h := s.get(t, "/feeds/releases.atom")
	if !strings.Contains(h.Get("Link"), `/websub>; rel="hub"`) || !strings.Contains(h.Get("Link"), `rel="self"`) || !strings.Contains(body, `rel="hub"`) {
		t.Errorf("the Atom feed does not advertise the hub: Link %q", h.Get("Link"))
	}
	if _, body, _ := s.get(t, "/feeds/releases.json"); !strings.Contains(body, `"hubs"`) || !strings.Contains(body, `"WebSub"`) {
		t.Errorf("the JSON Feed does not list the hub: %.300s", body)
	}
}
