package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/rowclickhouse"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/indicators/audit/outcomeclickhouse"
	"github.com/candour/candour/indicators/observationclickhouse"
)

// analytics are the stores of large, append-only, derived data: dataset
// rows, indicator observations and clinical audit outcomes. They live in
// the embedded database unless --clickhouse names a ClickHouse server,
// where all three then live (never some: a release's rows, observations
// and outcomes are read together). The catalogue, workflow and accounts
// always stay in SQLite.
type analytics struct {
	rows         datasets.RowStore
	observations indicators.ObservationStore
	audits       audit.Store
	server       *clickhousedb.Server // ClickHouse, when the stores are there
}

// openClickHouse connects to the server, or the shards of the cluster,
// that dsns name (separated by commas) and returns the stores there, first
// applying their migrations (on every shard) when migrate is set: the
// publishing node; a read node writes nothing.
func openClickHouse(ctx context.Context, dsns, cluster string, migrate bool, log *slog.Logger) (analytics, error) {
	list := strings.Split(dsns, ",")
	server, err := clickhousedb.OpenServer(ctx, cluster, list...)
	if err != nil {
		return analytics{}, fmt.Errorf("--clickhouse: %w", err)
	}
	if migrate {
		sets := []clickhousedb.Set{rowclickhouse.Migrations(), observationclickhouse.Migrations(), outcomeclickhouse.Migrations()}
		tables := slices.Concat(rowclickhouse.Tables, observationclickhouse.Tables, outcomeclickhouse.Tables)
		if err := server.Migrate(ctx, sets, tables...); err != nil {
			server.Close()
			return analytics{}, fmt.Errorf("--clickhouse: %w", err)
		}
	}
	redacted := make([]string, len(list))
	for i, dsn := range list {
		redacted[i] = clickhousedb.Redacted(dsn)
	}
	log.Info("rows, observations and audit outcomes are stored on ClickHouse", "servers", strings.Join(redacted, ","), "cluster", server.Cluster)
	return analytics{rows: rowclickhouse.New(server), observations: observationclickhouse.New(server), audits: outcomeclickhouse.New(server), server: server}, nil
}

// close closes the ClickHouse connections, if there are any.
func (a analytics) close() {
	if a.server != nil {
		a.server.Close()
	}
}
