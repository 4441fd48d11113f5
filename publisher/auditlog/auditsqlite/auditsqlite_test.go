package auditsqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
)

func open(t *testing.T, file string) (*auditsqlite.Log, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlitedb.Migrate(ctx, db, auditsqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	return auditsqlite.New(db), db
}

func TestAppendVerifyAndTamper(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "audit.db")
	log, logDB := open(t, file)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	var last auditlog.Entry
	for i, actor := range []string{"pat", "annabel-reviewer", "bob"} {
		e, err := log.Append(ctx, auditlog.Entry{At: at.Add(time.Duration(i) * time.Minute), Actor: actor, Action: "review.approve", Release: 3,
			Files: []auditlog.FileHash{{Name: "w.csv", SHA256: "ab"}}, Details: json.RawMessage(`{"n":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	head, err := log.Verify(ctx)
	if err != nil || head.Seq != 3 || head.Hash != last.Hash {
		t.Fatalf("verify: %+v %v", head, err)
	}
	if es, err := log.EntriesForRelease(ctx, 3); err != nil || len(es) != 3 {
		t.Errorf("entries for release 3: %d %v", len(es), err)
	}
	// SQL cannot change the log.
	db, _ := sqlitedb.Open(ctx, file)
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET actor = 'eve' WHERE seq = 2`); err == nil {
		t.Error("an UPDATE of the audit log succeeded")
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = 2`); err == nil {
		t.Error("a DELETE from the audit log succeeded")
	}
	db.Close()
	logDB.Close() // the last connection checkpoints the write-ahead log into the file

	// One altered byte in the database file breaks the chain.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("annabel-reviewer"))
	if i < 0 {
		t.Fatal("the entry is not in the database file")
	}
	data[i] = 'A'
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, _ := open(t, file)
	_, err = fresh.Verify(ctx)
	var brk *auditlog.BreakError
	if !errors.As(err, &brk) || brk.Seq != 2 {
		t.Errorf("after altering one byte: %v, want a break at entry 2", err)
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	ctx := context.Background()
	log, _ := open(t, filepath.Join(t.TempDir(), "audit.db"))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := log.Append(ctx, auditlog.Entry{Actor: "writer", Action: "test.append"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	head, err := log.Verify(ctx)
	if err != nil || head.Seq != 80 {
		t.Errorf("after 80 concurrent appends: %+v %v", head, err)
	}
}
