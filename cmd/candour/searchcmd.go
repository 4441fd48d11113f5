package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/candour/candour/catalogue/searchbleve"
)

// searchDir is the search index's folder in the data directory.
const searchDir = "search"

// openSearch opens the data folder's search index, building it when it is
// missing, unfinished or damaged (never serving one half-built), and hands
// it to the publisher, which keeps it in step with the published view
// until ctx ends.
func (a *app) openSearch(ctx context.Context) error {
	dir := filepath.Join(a.cfg.DataDir, searchDir)
	idx, err := searchbleve.Open(dir)
	if errors.Is(err, searchbleve.ErrRebuild) {
		a.log.Warn("building the search index", "reason", err.Error())
		start := time.Now()
		idx, err = a.buildSearch(ctx)
		if err == nil {
			a.log.Info("search index built", "took", time.Since(start).Round(time.Millisecond))
		}
	}
	if err != nil {
		return err
	}
	a.search = idx
	return a.publisher.UseSearch(ctx, idx)
}

func (a *app) buildSearch(ctx context.Context) (*searchbleve.Index, error) {
	return searchbleve.Create(ctx, filepath.Join(a.cfg.DataDir, searchDir), func(ctx context.Context, x *searchbleve.Index) error {
		return a.publisher.FillSearch(ctx, x)
	})
}

const reindexSummary = `Rebuilds the search index from the database: every public dataset,
organisation, indicator, clinical audit, page and calendar entry, and every
release's document (found only once the release is published). The new index
replaces the old one whole once it is complete. Run it with the server
stopped (a server that is running keeps its index until it restarts); a
server also rebuilds a missing or damaged index when it starts.`

func runReindex(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("reindex", reindexSummary, "", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{fmt.Sprintf("candour reindex: unexpected argument %q", rest[0])}
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	idx, err := a.buildSearch(ctx)
	if err != nil {
		return err
	}
	defer idx.Close()
	n, err := idx.Count()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Search index rebuilt: %d documents in %s.\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
