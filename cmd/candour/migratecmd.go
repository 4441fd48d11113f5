package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"iter"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
)

const migrateSummary = `Copies the data folder's dataset rows, indicator observations (with
their definitions and summaries) and clinical audit outcomes to the
ClickHouse server or cluster --clickhouse names, release by release, so
that the deployment can then run with --clickhouse.

Each release is checked first: when ClickHouse already holds exactly what
the data folder holds for it (the same counts and the same SHA-256 of
every item read back in order), it is skipped; otherwise it is written
(replacing whatever part of it is there) and read back and compared. A
run that is interrupted is resumed by running it again. It prints a line
a release and fails, naming the release, if a copy does not read back the
same. The data folder is not changed: its copies stay until it is
discarded. Stop the publishing node while it runs, or run it again
afterwards, so that nothing published meanwhile is missed.`

func runMigrateToClickHouse(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("migrate-to-clickhouse", migrateSummary, "", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("candour migrate-to-clickhouse: unexpected argument %q", rest[0])}
	}
	if cfg.ClickHouseDSN == "" {
		return &usageError{"candour migrate-to-clickhouse: --clickhouse (or CANDOUR_CLICKHOUSE_DSN) must name the server to copy to"}
	}
	log := cfg.logger(stderr)
	target, err := openClickHouse(ctx, cfg.ClickHouseDSN, cfg.ClickHouseCluster, true, log)
	if err != nil {
		return err
	}
	defer target.close()
	embedded := cfg
	embedded.ClickHouseDSN, embedded.embeddedOnPurpose = "", true
	a, err := openApp(ctx, embedded, log)
	if err != nil {
		return err
	}
	defer a.Close()
	releases, err := a.catalogue.ListReleases(ctx, catalogue.ReleaseQuery{Visibility: catalogue.Internal()})
	if err != nil {
		return err
	}
	start := time.Now()
	copied, skipped := 0, 0
	for i, listed := range releases {
		r, err := a.catalogue.ReleaseByID(ctx, listed.ID)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("release %d (%s version %d, %s)", r.ID, r.Dataset.Slug, r.Version, r.State)
		source, err := releaseDigest(ctx, a.analytics, r)
		if err != nil {
			return fmt.Errorf("%s, in the data folder: %w", name, err)
		}
		there, err := releaseDigest(ctx, target, r)
		if err != nil {
			return fmt.Errorf("%s, on ClickHouse: %w", name, err)
		}
		if there == source {
			skipped++
			fmt.Fprintf(stdout, "[%d/%d] %s: already on ClickHouse (%s)\n", i+1, len(releases), name, source.counts())
			continue
		}
		if err := copyRelease(ctx, a.analytics, target, r); err != nil {
			return fmt.Errorf("%s: copying: %w (run the command again to resume)", name, err)
		}
		if there, err = releaseDigest(ctx, target, r); err != nil {
			return fmt.Errorf("%s, on ClickHouse after copying: %w", name, err)
		}
		if there != source {
			return fmt.Errorf("%s: ClickHouse reads back %s, the data folder holds %s", name, there.counts(), source.counts())
		}
		copied++
		fmt.Fprintf(stdout, "[%d/%d] %s: copied and verified (%s)\n", i+1, len(releases), name, source.counts())
	}
	if err := markOnClickHouse(cfg.DataDir, cfg.ClickHouseDSN, cfg.ClickHouseCluster, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d release%s copied, %d already there, in %s. Serve with --clickhouse now.\n",
		copied, pluralS(copied), skipped, time.Since(start).Round(time.Millisecond))
	return nil
}

// digest is what a store holds of one release: how many of each kind, and
// the SHA-256 of every item read back in order.
type digest struct {
	observations, definitions, summaries, audits, outcomes, rows int
	sum                                                          string
}

func (d digest) counts() string {
	return fmt.Sprintf("%d observations, %d definitions, %d summaries, %d audits, %d outcomes, %d rows, sha256 %.12s",
		d.observations, d.definitions, d.summaries, d.audits, d.outcomes, d.rows, d.sum)
}

// releaseDigest reads everything stores hold of release r.
func releaseDigest(ctx context.Context, stores analytics, r catalogue.Release) (digest, error) {
	var d digest
	h := sha256.New()
	only := datasets.NewVisible(r.ID)
	var err error
	if d.observations, err = hashSeq(h, "observation", stores.observations.Observations(ctx, indicators.ObservationQuery{Visible: only})); err != nil {
		return d, err
	}
	defs, err := stores.observations.Definitions(ctx, only)
	if err != nil {
		return d, err
	}
	d.definitions = len(defs)
	sums, err := stores.observations.Summaries(ctx, only, "")
	if err != nil {
		return d, err
	}
	d.summaries = len(sums)
	audits, err := stores.audits.Audits(ctx, only)
	if err != nil {
		return d, err
	}
	d.audits = len(audits)
	outcomes, err := stores.audits.Outcomes(ctx, audit.Query{Visible: only})
	if err != nil {
		return d, err
	}
	d.outcomes = len(outcomes)
	// Item by item, so that no items and a nil list read the same.
	for _, err := range []error{hashAll(h, defs), hashAll(h, sums), hashAll(h, audits), hashAll(h, outcomes)} {
		if err != nil {
			return d, err
		}
	}
	for _, f := range r.Files {
		n, err := hashSeq(h, "row of "+f.Name, stores.rows.Rows(ctx, only, datasets.RowQuery{File: datasets.FileRef{Release: r.ID, File: f.Name}}))
		if err != nil {
			return d, err
		}
		d.rows += n
	}
	d.sum = hex.EncodeToString(h.Sum(nil))
	return d, nil
}

// hashAll adds each of items, then an end mark.
func hashAll[T any](h hash.Hash, items []T) error {
	for _, item := range items {
		if err := hashJSON(h, item); err != nil {
			return err
		}
	}
	h.Write([]byte("--\n"))
	return nil
}

func hashJSON(h hash.Hash, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h.Write(b)
	h.Write([]byte{'\n'})
	return nil
}

func hashSeq[T any](h hash.Hash, what string, items iter.Seq2[T, error]) (int, error) {
	n := 0
	for item, err := range items {
		if err != nil {
			return n, fmt.Errorf("%s %d: %w", what, n+1, err)
		}
		if err := hashJSON(h, item); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// copyRelease writes everything from holds of release r to to, replacing
// what to held of it.
func copyRelease(ctx context.Context, from, to analytics, r catalogue.Release) error {
	only := datasets.NewVisible(r.ID)
	// Streamed: the copy holds a batch of observations, not the release's.
	obs := from.observations.Observations(ctx, indicators.ObservationQuery{Visible: only})
	if err := to.observations.WriteObservations(ctx, r.ID, obs); err != nil {
		return err
	}
	defs, err := from.observations.Definitions(ctx, only)
	if err != nil {
		return err
	}
	plain := make([]indicators.Definition, len(defs))
	for i, d := range defs {
		plain[i] = d.Definition
	}
	if err := to.observations.WriteDefinitions(ctx, r.ID, plain); err != nil {
		return err
	}
	sums, err := from.observations.Summaries(ctx, only, "")
	if err != nil {
		return err
	}
	if err := to.observations.WriteSummaries(ctx, r.ID, sums); err != nil {
		return err
	}
	audits, err := from.audits.Audits(ctx, only)
	if err != nil {
		return err
	}
	if err := to.audits.DeleteRelease(ctx, r.ID); err != nil {
		return err
	}
	for _, a := range audits {
		outcomes, err := from.audits.Outcomes(ctx, audit.Query{Visible: only, Audit: a.Definition.ID})
		if err != nil {
			return err
		}
		if err := to.audits.WriteAudit(ctx, a, outcomes); err != nil {
			return err
		}
	}
	if err := to.rows.DeleteRelease(ctx, r.ID); err != nil {
		return err
	}
	for _, f := range r.Files {
		ref := datasets.FileRef{Release: r.ID, File: f.Name}
		cells := func(yield func([]string, error) bool) {
			for row, err := range from.rows.Rows(ctx, only, datasets.RowQuery{File: ref}) {
				if !yield(row.Cells, err) || err != nil {
					return
				}
			}
		}
		if _, err := to.rows.WriteRows(ctx, ref, cells); err != nil {
			return fmt.Errorf("rows of %s: %w", f.Name, err)
		}
	}
	return nil
}
