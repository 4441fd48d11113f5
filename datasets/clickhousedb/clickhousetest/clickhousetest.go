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

// Fresh creates an empty database for the test on the server, dropped
// when the test ends, and returns it as a clickhousedb.Server with the
// sets' migrations applied.
func Fresh(t testing.TB, sets ...clickhousedb.Set) *clickhousedb.Server {
	t.Helper()
	conn := freshDatabase(t, DSN(t), databaseName())
	if err := clickhousedb.Migrate(context.Background(), conn, sets...); err != nil {
		t.Fatal(err)
	}
	return clickhousedb.Single(conn)
}

// Shard2Variable names the second shard of the test cluster; ClusterVariable
// the cluster's name in both servers' remote_servers (default
// candour_test). .ci/run starts both shards.
const (
	Shard2Variable  = "CANDOUR_TEST_CLICKHOUSE_SHARD2"
	ClusterVariable = "CANDOUR_TEST_CLICKHOUSE_CLUSTER"
)

// FreshCluster is Fresh on the two-shard test cluster: the same fresh
// database on both shards, the migrations applied on each and the
// Distributed tables over tables created on the first.
func FreshCluster(t testing.TB, sets []clickhousedb.Set, tables ...string) *clickhousedb.Server {
	t.Helper()
	first := DSN(t)
	second := os.Getenv(Shard2Variable)
	if second == "" {
		if os.Getenv("CANDOUR_REQUIRE_CLICKHOUSE") != "" {
			t.Fatalf("%s is not set, and CANDOUR_REQUIRE_CLICKHOUSE says the ClickHouse tests must run (.ci/run starts two shards)", Shard2Variable)
		}
		t.Skipf("skipped: no second ClickHouse shard (set %s; .ci/run shows how to start a two-shard cluster)", Shard2Variable)
	}
	cluster := os.Getenv(ClusterVariable)
	if cluster == "" {
		cluster = "candour_test"
	}
	name := databaseName()
	s := &clickhousedb.Server{Cluster: cluster, Database: name}
	for _, dsn := range []string{first, second} {
		s.Shards = append(s.Shards, freshDatabase(t, dsn, name))
	}
	s.Query = s.Shards[0]
	if err := s.Migrate(context.Background(), sets, tables...); err != nil {
		t.Fatal(err)
	}
	return s
}

func databaseName() string {
	return fmt.Sprintf("candour_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, databases.Add(1))
}

// freshDatabase creates database name on the server dsn names, dropped
// when the test ends, and returns a connection to it.
func freshDatabase(t testing.TB, dsn, name string) driver.Conn {
	t.Helper()
	ctx := context.Background()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", dsn, err)
	}
	admin, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
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
	return conn
}
