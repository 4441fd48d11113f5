// Package clickhousetest gives tests a fresh database on the ClickHouse
// server that CANDOUR_TEST_CLICKHOUSE names (a DSN such as
// clickhouse://127.0.0.1:19000/default; .ci/run starts one). Where it is
// unset the test is skipped, saying so, unless CANDOUR_REQUIRE_CLICKHOUSE
// is set (as in CI), when it fails instead: a ClickHouse test must never
// pass by not running.
package clickhousetest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/candour/candour/datasets/clickhousedb"
)

// DSNVariable names the server the tests use.
const DSNVariable = "CANDOUR_TEST_CLICKHOUSE"

var databases atomic.Int64

// DSN returns the server's DSN, skipping (or, where ClickHouse is
// required, failing) the test when there is none.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNVariable)
	if dsn == "" {
		if os.Getenv("CANDOUR_REQUIRE_CLICKHOUSE") != "" {
			t.Fatalf("%s is not set, and CANDOUR_REQUIRE_CLICKHOUSE says the ClickHouse tests must run (.ci/run starts a server)", DSNVariable)
		}
		t.Skipf("skipped: no ClickHouse server (set %s to a DSN such as clickhouse://127.0.0.1:19000/default; .ci/clickhouse starts one)", DSNVariable)
	}
	return dsn
}

// Fresh creates an empty database for the test, dropped when it ends, and
// returns a connection to it with the sets' migrations applied.
func Fresh(t testing.TB, sets ...clickhousedb.Set) driver.Conn {
	t.Helper()
	dsn := DSN(t)
	ctx := context.Background()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", DSNVariable, err)
	}
	admin, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("candour_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, databases.Add(1))
	if err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	opts.Auth.Database = name
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := clickhousedb.Migrate(ctx, conn, sets...); err != nil {
		t.Fatal(err)
	}
	return conn
}
