package rowsqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/rowstoretest"
	"github.com/candour/candour/datasets/sqlitedb"
)

func TestContract(t *testing.T) {
	rowstoretest.Run(t, func(t *testing.T) datasets.RowStore {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := sqlitedb.Migrate(ctx, db, rowsqlite.Migrations()); err != nil {
			t.Fatal(err)
		}
		return rowsqlite.New(db)
	})
}
