package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

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
	conn         driver.Conn // the ClickHouse connection, when there is one
}

// openClickHouse connects to the server dsn names and returns the stores
// on it, first applying their migrations when migrate is set (the
// publishing node; a read node writes nothing).
func openClickHouse(ctx context.Context, dsn string, migrate bool, log *slog.Logger) (analytics, error) {
	conn, err := clickhousedb.Open(ctx, dsn)
	if err != nil {
		return analytics{}, fmt.Errorf("--clickhouse: %w", err)
	}
	if migrate {
		if err := clickhousedb.Migrate(ctx, conn, rowclickhouse.Migrations(), observationclickhouse.Migrations(), outcomeclickhouse.Migrations()); err != nil {
			conn.Close()
			return analytics{}, fmt.Errorf("--clickhouse: %w", err)
		}
	}
	log.Info("rows, observations and audit outcomes are stored on ClickHouse", "server", clickhousedb.Redacted(dsn))
	return analytics{rows: rowclickhouse.New(conn), observations: observationclickhouse.New(conn), audits: outcomeclickhouse.New(conn), conn: conn}, nil
}

// close closes the ClickHouse connection, if there is one.
func (a analytics) close() {
	if a.conn != nil {
		a.conn.Close()
	}
}
