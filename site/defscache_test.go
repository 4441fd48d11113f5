package site

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/datasets"
	"github.com/candour/candour/indicators"
)

// storeOfTwo is an observation store whose definitions are two, in id
// order, counting the reads.
type storeOfTwo struct {
	indicators.ObservationStore
	reads int
}

func (s *storeOfTwo) Definitions(context.Context, datasets.Visible) ([]indicators.ReleasedDefinition, error) {
	s.reads++
	return []indicators.ReleasedDefinition{{Release: 1, Definition: indicators.Definition{ID: "a", Title: "Zebra"}},
		{Release: 1, Definition: indicators.Definition{ID: "b", Title: "Aardvark"}}}, nil
}

// The definitions cache reads the store once per visible set, and a caller
// that reorders its list (the map sorts by title) changes no other
// caller's: on a publishing node the map once reordered the indicator
// list and the API for every later request.
func TestDefinitionsCacheHandsOutCopies(t *testing.T) {
	store := &storeOfTwo{}
	cache := &definitionsCache{ObservationStore: store}
	visible := datasets.NewVisible(1)
	ids := func(defs []indicators.ReleasedDefinition) []string {
		var out []string
		for _, d := range defs {
			out = append(out, d.ID)
		}
		return out
	}
	for i := range 3 {
		defs, err := cache.Definitions(context.Background(), visible)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(defs); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("read %d: %v, want the store's order [a b]", i+1, got)
		}
		slices.SortFunc(defs, func(x, y indicators.ReleasedDefinition) int { return strings.Compare(y.ID, x.ID) })
	}
	if store.reads != 1 {
		t.Errorf("the store was read %d times for one visible set, want 1", store.reads)
	}
}
