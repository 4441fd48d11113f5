package observationclickhouse_test

import (
	"testing"

	"github.com/candour/candour/datasets/clickhousedb"
	"github.com/candour/candour/datasets/clickhousedb/clickhousetest"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/observationclickhouse"
	"github.com/candour/candour/indicators/observationstest"
)

// The contract suite every observation store passes, against a real
// ClickHouse server.
func TestContract(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		return observationclickhouse.New(clickhousetest.Fresh(t, observationclickhouse.Migrations()))
	})
}

// The same suite on a two-shard cluster: writes go to one shard by
// release, reads through Distributed tables.
func TestContractOnTwoShards(t *testing.T) {
	observationstest.Run(t, func(t *testing.T) indicators.ObservationStore {
		return observationclickhouse.New(clickhousetest.FreshCluster(t, []clickhousedb.Set{observationclickhouse.Migrations()}, observationclickhouse.Tables...))
	})
}
