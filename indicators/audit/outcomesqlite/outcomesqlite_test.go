package outcomesqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/indicators/audit/outcomestest"
)

func TestContract(t *testing.T) {
	outcomestest.Run(t, func(t *testing.T) audit.Store {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := sqlitedb.Migrate(ctx, db, outcomesqlite.Migrations()); err != nil {
			t.Fatal(err)
		}
		return outcomesqlite.New(db)
	})
}
