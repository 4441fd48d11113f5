package site

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics for Prometheus at /metrics. Requests are labelled by route
// pattern (/datasets/:slug, never the address itself), so the number of
// series is fixed by the route table whatever clients ask for. /metrics
// answers only a direct connection from this machine (no X-Forwarded-For):
// through the reverse proxy it is not found, and deploy/nginx.conf denies
// it as well. The workflow's figures (publications, disclosure refusals,
// scheduler lag) come from publisher.Service.Stats; cmd may register more
// through Site.Metrics.
type siteMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newSiteMetrics(s *Site) *siteMetrics {
	m := &siteMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "candour_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status code."},
			[]string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "candour_http_request_duration_seconds", Help: "Time to answer HTTP requests (to the end of the handler; streamed bodies continue after), by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "candour_http_in_flight_requests", Help: "HTTP requests being handled now."}),
	}
	stat := func(f func(CacheStats) float64) func() float64 { return func() float64 { return f(s.CacheStats()) } }
	m.registry.MustRegister(m.requests, m.latency, m.inFlight,
		// The base package's runtime and process collectors: the collectors
		// package would bring database/sql into site (its DB stats
		// collector), which the import rule forbids.
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "candour_http_shed_total", Help: "Requests answered 503 because the server was at --max-in-flight for --queue-wait."},
			func() float64 { return float64(s.shed.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_page_cache_bytes", Help: "Bytes held by the page cache."},
			stat(func(c CacheStats) float64 { return float64(c.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_page_cache_budget_bytes", Help: "The page cache's budget (--page-cache-bytes)."},
			stat(func(c CacheStats) float64 { return float64(c.Budget) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_page_cache_entries", Help: "Pages held by the page cache."},
			stat(func(c CacheStats) float64 { return float64(c.Entries) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "candour_page_cache_hits_total", Help: "Public pages served from the page cache."},
			stat(func(c CacheStats) float64 { return float64(c.Hits) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "candour_page_cache_misses_total", Help: "Public pages looked for in the page cache and rendered."},
			stat(func(c CacheStats) float64 { return float64(c.Misses) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_materialised_pages", Help: "Public pages materialised for what is published now (materialise.go)."},
			func() float64 { n, _ := s.MaterialisedStats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_materialised_building", Help: "1 while materialised pages are being built, else 0."},
			func() float64 {
				if _, building := s.MaterialisedStats(); building {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "candour_publications_total", Help: "Releases published by this process."},
			func() float64 { return float64(s.deps.Publisher.Stats().Publications) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "candour_disclosure_refusals_total", Help: "Submissions refused by disclosure control."},
			func() float64 { return float64(s.deps.Publisher.Stats().DisclosureRefusals) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "candour_scheduler_lag_seconds", Help: "How long after its embargo instant the last publication happened."},
			func() float64 { return s.deps.Publisher.Stats().SchedulerLag.Seconds() }),
	)
	return m
}

// Metrics is the registry /metrics reports, for cmd to add the
// workflow's collectors to.
func (s *Site) Metrics() prometheus.Registerer { return s.metrics.registry }

// observe records one answered request.
func (m *siteMetrics) observe(c *fiber.Ctx, took time.Duration) {
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched" // the catch-all: one series for every unknown address
	}
	// fiber's strings are views of buffers later requests reuse: the
	// registry keeps its labels, so they are copies.
	m.requests.WithLabelValues(strings.Clone(route), strings.Clone(c.Method()), strconv.Itoa(c.Response().StatusCode())).Inc()
	m.latency.WithLabelValues(strings.Clone(route)).Observe(took.Seconds())
}

// serveMetrics answers /metrics to a direct local connection only.
func (s *Site) serveMetrics() fiber.Handler {
	h := adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	return func(c *fiber.Ctx) error {
		remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
		if !ok || !remote.Unmap().IsLoopback() || len(c.Get(fiber.HeaderXForwardedFor)) > 0 {
			return errNotFound
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return h(c)
	}
}
