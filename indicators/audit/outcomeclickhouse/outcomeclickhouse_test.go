package outcomeclickhouse_test

import (
	"testing"

	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/indicators/audit/outcomeclickhouse"
	"github.com/candour/candour/indicators/audit/outcomestest"
)

// The contract suite every outcome store passes, against a real ClickHouse
// server.
func TestContract(t *testing.T) {
	outcomestest.Run(t, func(t *testing.T) audit.Store {
		return outcomeclickhouse.New(clickhousetest.Fresh(t, outcomeclickhouse.Migrations()))
	})
}

// The same suite on a two-shard cluster: writes go to one shard by
// release, reads through Distributed tables.
func TestContractOnTwoShards(t *testing.T) {
	outcomestest.Run(t, func(t *testing.T) audit.Store {
		return outcomeclickhouse.New(clickhousetest.FreshCluster(t, []clickhousedb.Set{outcomeclickhouse.Migrations()}, outcomeclickhouse.Tables...))
	})
}
