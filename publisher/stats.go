package publisher

import (
	"sync/atomic"
	"time"
)

// Stats are the workflow's running figures for operators (the site's
// /metrics reports them): counts since the process started, and how late
// the scheduler's last publication was.
type Stats struct {
	Publications       int64         // releases published by this process
	DisclosureRefusals int64         // submissions refused by disclosure control
	SchedulerLag       time.Duration // the last publication's delay after its embargo instant
}

// stats holds Stats as the Service updates them.
type stats struct {
	publications       atomic.Int64
	disclosureRefusals atomic.Int64
	schedulerLagNanos  atomic.Int64
}

// Stats reports the workflow's running figures.
func (s *Service) Stats() Stats {
	return Stats{Publications: s.stats.publications.Load(), DisclosureRefusals: s.stats.disclosureRefusals.Load(),
		SchedulerLag: time.Duration(s.stats.schedulerLagNanos.Load())}
}

// countPublication records one publication and how late it came.
func (s *Service) countPublication(lag time.Duration) {
	s.stats.publications.Add(1)
	s.stats.schedulerLagNanos.Store(int64(max(lag, 0)))
}
