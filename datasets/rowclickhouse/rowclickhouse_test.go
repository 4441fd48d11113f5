package rowclickhouse_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
	"github.com/candour/candour/datasets/rowclickhouse"
	"github.com/candour/candour/datasets/rowstoretest"
)

// The contract suite every row store passes, against a real ClickHouse
// server.
func TestContract(t *testing.T) {
	rowstoretest.Run(t, func(t *testing.T) datasets.RowStore {
		return rowclickhouse.New(clickhousetest.Fresh(t, rowclickhouse.Migrations()))
	})
}

// The same suite on a two-shard cluster: writes go to one shard by
// release, reads through Distributed tables.
func TestContractOnTwoShards(t *testing.T) {
	rowstoretest.Run(t, func(t *testing.T) datasets.RowStore {
		return rowclickhouse.New(clickhousetest.FreshCluster(t, []clickhousedb.Set{rowclickhouse.Migrations()}, rowclickhouse.Tables...))
	})
}

// On the cluster, releases land on different shards and are read back
// together through the Distributed table.
func TestRowsOnBothShards(t *testing.T) {
	ctx := context.Background()
	db := clickhousetest.FreshCluster(t, []clickhousedb.Set{rowclickhouse.Migrations()}, rowclickhouse.Tables...)
	s := rowclickhouse.New(db)
	for release := int64(1); release <= 4; release++ {
		rows := func(yield func([]string, error) bool) {
			for i := range 10 {
				if !yield([]string{fmt.Sprint(release), fmt.Sprint(i)}, nil) {
					return
				}
			}
		}
		if _, err := s.WriteRows(ctx, datasets.FileRef{Release: release, File: "f.csv"}, rows); err != nil {
			t.Fatal(err)
		}
	}
	for i, shard := range db.Shards {
		var n uint64
		if err := shard.QueryRow(ctx, "SELECT count() FROM dataset_rows").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 20 {
			t.Errorf("shard %d holds %d rows, want 20 (two of the four releases)", i+1, n)
		}
	}
	for release := int64(1); release <= 4; release++ {
		n := 0
		for r, err := range s.Rows(ctx, datasets.NewVisible(1, 2, 3, 4), datasets.RowQuery{File: datasets.FileRef{Release: release, File: "f.csv"}}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Cells[0] != fmt.Sprint(release) {
				t.Errorf("release %d's row %d is %q", release, r.Number, r.Cells)
			}
			n++
		}
		if n != 10 {
			t.Errorf("release %d: read %d rows through the Distributed table, want 10", release, n)
		}
	}
	if err := s.DeleteRelease(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var left uint64
	if err := db.Query.QueryRow(ctx, "SELECT count() FROM dataset_rows_all").Scan(&left); err != nil || left != 30 {
		t.Errorf("after removing release 3: %d rows (%v), want 30", left, err)
	}
}
