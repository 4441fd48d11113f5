// Package clickhousedb opens a ClickHouse server for Candour's analytical
// stores and applies their embedded migrations, as sqlitedb does for the
// embedded database.
//
// # Server and driver
//
// The server obtainable here is Debian's clickhouse-server 18.16, and the
// driver is github.com/ClickHouse/clickhouse-go/v2 pinned at v2.26.0 over
// the native protocol: later versions send INSERT … FORMAT Native, which
// 18.16 takes as an empty insert (see ../shared/reference/tech-notes.md).
// 18.16 has no server-side query parameters, so values are bound by the
// driver on the client (it quotes and escapes them), and release numbers,
// which are integers Candour chooses, are written into queries by In.
//
// # Migrations
//
// Each store ships its migrations as files NNNN_description.sql (package
// migrations), applied in order and recorded in schema_migrations with the
// file's SHA-256, as in SQLite. ClickHouse runs one statement a query, so
// a file's statements are separated by a semicolon at the end of a line.
// ClickHouse has no transactions: a migration whose statements are not
// all applied is applied again from the start, so each statement must be
// safe to repeat (CREATE TABLE IF NOT EXISTS, ADD COLUMN IF NOT EXISTS).
//
// # What it must not do
//
// It holds no store's tables or queries; the stores (observationclickhouse
// and the others) do.
package clickhousedb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/migrations"
)

// Open connects to the server a DSN names, such as
// clickhouse://127.0.0.1:9000/candour, creating the database if the
// server has none of that name, and checks that it answers.
func Open(ctx context.Context, dsn string) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse DSN: %w", err)
	}
	if err := createDatabase(ctx, *opts); err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", opts.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open clickhouse %s: %w", opts.Addr, err)
	}
	return conn, nil
}

// createDatabase creates the database opts names, if it is not there,
// through the server's default database.
func createDatabase(ctx context.Context, opts clickhouse.Options) error {
	name := opts.Auth.Database
	if name == "" || name == "default" {
		return nil
	}
	if !validName(name) {
		return fmt.Errorf("clickhouse DSN: database name %q: use letters, digits and underscores", name)
	}
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return fmt.Errorf("open clickhouse %s: %w", opts.Addr, err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+name); err != nil {
		return fmt.Errorf("open clickhouse %s: create database %s: %w", opts.Addr, name, err)
	}
	return nil
}

// validName reports whether name is a plain identifier.
func validName(name string) bool {
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return name != ""
}

// Redacted is dsn with any password replaced, for logs and messages.
func Redacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(a DSN that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Set is one store's migrations.
type Set = migrations.Set

// Embedded is the Set of a store whose migrations are embedded in fsys
// under the folder "migrations".
func Embedded(component string, fsys fs.FS) Set { return migrations.Embedded(component, fsys) }

// Migrate applies every set's pending migrations in order and records
// them. It fails, changing nothing further, if a recorded migration's file
// has changed or disappeared.
func Migrate(ctx context.Context, conn driver.Conn, sets ...Set) error {
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component String, version UInt32, name String, sha256 String, applied_at DateTime
	) ENGINE = MergeTree() ORDER BY (component, version)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, set := range sets {
		if err := migrateSet(ctx, conn, set); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Component, err)
		}
	}
	return nil
}

func migrateSet(ctx context.Context, conn driver.Conn, set Set) error {
	files, err := migrations.Read(set.Files)
	if err != nil {
		return err
	}
	applied, err := appliedMigrations(ctx, conn, set.Component)
	if err != nil {
		return err
	}
	pending, err := migrations.Pending(files, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := apply(ctx, conn, set.Component, m); err != nil {
			return err
		}
	}
	return nil
}

func appliedMigrations(ctx context.Context, conn driver.Conn, component string) (map[int]string, error) {
	rows, err := conn.Query(ctx, `SELECT version, sha256 FROM schema_migrations WHERE component = ?`, component)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		applied[int(v)] = sum
	}
	return applied, rows.Err()
}

func apply(ctx context.Context, conn driver.Conn, component string, m migrations.File) error {
	for i, stmt := range Statements(m.SQL) {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("apply %s, statement %d: %w", m.Name, i+1, err)
		}
	}
	// Rows go in as batches: 18.16 waits for data after an INSERT … VALUES
	// sent as a query over the native protocol.
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (component, version, name, sha256, applied_at)")
	if err == nil {
		if err = batch.Append(component, uint32(m.Version), m.Name, m.SHA256, time.Now().UTC()); err == nil {
			err = batch.Send()
		} else {
			batch.Abort()
		}
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", m.Name, err)
	}
	return nil
}

// Statements splits a migration file into its statements: each ends with
// a semicolon at the end of a line. Lines that are only a comment are
// left out.
func Statements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, ";"); ok {
			cur.WriteString(body)
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// Classify marks an error that means the server could not be reached or
// went away part-way (rather than a query it refused) as
// datasets.ErrUnavailable, and returns any other error as it is. The
// driver reconnects by itself, so a later request succeeds once the
// server is back.
func Classify(err error) error {
	if err == nil || errors.Is(err, datasets.ErrUnavailable) {
		return err
	}
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr), errors.As(err, &netErr) && !errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return fmt.Errorf("%w: %w", datasets.ErrUnavailable, err)
	}
	return err
}

// In writes the visible releases as a list for an IN clause, "(3, 7)", or
// reports that there are none (the query would read nothing).
func In(v datasets.Visible) (string, bool) {
	ids := v.IDs()
	if len(ids) == 0 {
		return "", false
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "(" + strings.Join(parts, ", ") + ")", true
}

// Server is where the stores keep their tables: one ClickHouse server, or
// the shards of a cluster.
//
// On one server a store's table is read and written by its own name. On a
// cluster every shard has the table (its local part, created by the
// migrations on each shard), a release's rows are written straight to one
// shard's table, chosen by release number (so the write is done when the
// insert returns: inserts through a Distributed table are asynchronous in
// 18.16), a release is removed from every shard, and reads go through a
// Distributed table over the local tables, named with the suffix "_all",
// on the first shard. Tables are created on each shard rather than with ON
// CLUSTER, which needs ZooKeeper.
type Server struct {
	// Query reads; on a cluster it is the first shard, which holds the
	// Distributed tables.
	Query driver.Conn
	// Shards are written to; one server is its own only shard.
	Shards []driver.Conn
	// Cluster is the cluster's name in the servers' remote_servers, or ""
	// for one server.
	Cluster string
	// Database is the database the tables are in, on every shard.
	Database string
}

// Single is one server.
func Single(conn driver.Conn) *Server { return &Server{Query: conn, Shards: []driver.Conn{conn}} }

// Table is the name to read a store's table by.
func (s *Server) Table(name string) string {
	if s.Cluster == "" {
		return name
	}
	return name + "_all"
}

// ShardFor is the shard a release's rows are written to.
func (s *Server) ShardFor(release int64) driver.Conn {
	return s.Shards[int(uint64(release)%uint64(len(s.Shards)))]
}

// OnEveryShard runs a statement on each shard in turn.
func (s *Server) OnEveryShard(ctx context.Context, stmt string) error {
	for i, conn := range s.Shards {
		if err := conn.Exec(ctx, stmt); err != nil {
			if len(s.Shards) > 1 {
				return fmt.Errorf("shard %d: %w", i+1, Classify(err))
			}
			return Classify(err)
		}
	}
	return nil
}

// Migrate applies the sets' migrations on every shard and, on a cluster,
// creates the Distributed table over each of tables on the first shard.
func (s *Server) Migrate(ctx context.Context, sets []Set, tables ...string) error {
	for i, conn := range s.Shards {
		if err := Migrate(ctx, conn, sets...); err != nil {
			if len(s.Shards) > 1 {
				return fmt.Errorf("shard %d: %w", i+1, err)
			}
			return err
		}
	}
	if s.Cluster == "" {
		return nil
	}
	if !validName(s.Cluster) || !validName(s.Database) {
		return fmt.Errorf("cluster %q, database %q: use letters, digits and underscores", s.Cluster, s.Database)
	}
	for _, t := range tables {
		if err := s.Query.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s ENGINE = Distributed(%s, %s, %s, rand())",
			s.Database, s.Table(t), s.Database, t, s.Cluster, s.Database, t)); err != nil {
			return fmt.Errorf("distributed table over %s: %w", t, err)
		}
	}
	return nil
}

// Close closes every connection.
func (s *Server) Close() {
	for _, conn := range s.Shards {
		conn.Close()
	}
}

// OpenServer connects to one server (one DSN) or to the shards of a
// cluster (several, the first holding the Distributed tables), each with
// the same database, which is created where missing.
func OpenServer(ctx context.Context, cluster string, dsns ...string) (*Server, error) {
	if len(dsns) == 0 {
		return nil, errors.New("clickhouse: no server given")
	}
	if len(dsns) > 1 && cluster == "" {
		return nil, errors.New("clickhouse: several servers are shards of a cluster: name the cluster their remote_servers define")
	}
	s := &Server{Cluster: cluster}
	if len(dsns) == 1 {
		s.Cluster = ""
	}
	for _, dsn := range dsns {
		conn, err := Open(ctx, dsn)
		if err != nil {
			s.Close()
			return nil, err
		}
		opts, _ := clickhouse.ParseDSN(dsn)
		if s.Database == "" {
			s.Database = opts.Auth.Database
		} else if opts.Auth.Database != s.Database {
			conn.Close()
			s.Close()
			return nil, fmt.Errorf("clickhouse: every shard must use the same database (%s and %s)", s.Database, opts.Auth.Database)
		}
		s.Shards = append(s.Shards, conn)
	}
	if s.Database == "" {
		s.Database = "default"
	}
	s.Query = s.Shards[0]
	return s, nil
}
