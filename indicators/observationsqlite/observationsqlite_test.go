package observationsqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationsqlite"
	"github.com/candour/candour/indicators/observationstest"
)

func TestContract(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := sqlitedb.Migrate(ctx, db, observationsqlite.Migrations()); err != nil {
			t.Fatal(err)
		}
		return observationsqlite.New(db)
	})
}
