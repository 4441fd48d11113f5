package rowclickhouse_test

import (
	"testing"

	"github.com/candour/candour/datasets"
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
