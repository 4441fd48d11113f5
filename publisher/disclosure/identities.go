package disclosure

import (
	"encoding/binary"
	"slices"
)

// identities interns cell identities for the audit model. A cell's
// identity is the set of its row's (field, value) pairs, leaving out a
// dimension whose value is one of its total values (see rowIdentity);
// cells of different files with the same identity are the same unknown.
// Field names and values are interned to numbers and an identity is
// written as its pairs in field-name order, eight bytes a pair, so that a
// release of millions of rows is modelled with small map keys rather than
// quoted strings (rowIdentity gives the same identity in words, for the
// corrections' cell links).
type identities struct {
	fields map[string]uint32
	names  []string // field number − 1 → name
	values map[string]uint32
	small  map[identKey]int32 // identities of up to identKeyPairs pairs
	ids    map[string]int32   // longer ones
	n      int32
	buf    []byte
}

// identKeyPairs is the most pairs an identity written as an identKey
// holds; field numbers start at 1 so that a zero ends the pairs.
const identKeyPairs = 4

type identKey [2 * identKeyPairs]uint32

// idPair is one (field, value) pair of an identity, interned.
type idPair struct{ field, value uint32 }

// newIdentities makes room for about n identities.
func newIdentities(n int) *identities {
	return &identities{fields: map[string]uint32{}, values: map[string]uint32{}, small: make(map[identKey]int32, n), ids: map[string]int32{}}
}

// field returns the number of a field name.
func (x *identities) field(name string) uint32 {
	if n, ok := x.fields[name]; ok {
		return n
	}
	x.names = append(x.names, name)
	n := uint32(len(x.names))
	x.fields[name] = n
	return n
}

// value returns the number of a cell value.
func (x *identities) value(v string) uint32 {
	if n, ok := x.values[v]; ok {
		return n
	}
	n := uint32(len(x.values))
	x.values[v] = n
	return n
}

// of returns the identity of pairs, which must be in field-name order.
func (x *identities) of(pairs []idPair) int32 {
	if len(pairs) <= identKeyPairs {
		var k identKey
		for i, p := range pairs {
			k[2*i], k[2*i+1] = p.field, p.value
		}
		if id, ok := x.small[k]; ok {
			return id
		}
		x.small[k] = x.next()
		return x.n - 1
	}
	x.buf = x.buf[:0]
	for _, p := range pairs {
		x.buf = binary.LittleEndian.AppendUint32(x.buf, p.field)
		x.buf = binary.LittleEndian.AppendUint32(x.buf, p.value)
	}
	if id, ok := x.ids[string(x.buf)]; ok {
		return id
	}
	x.ids[string(x.buf)] = x.next()
	return x.n - 1
}

func (x *identities) next() int32 {
	x.n++
	return x.n - 1
}

// inOrder sorts pairs into field-name order.
func (x *identities) inOrder(pairs []idPair) []idPair {
	slices.SortFunc(pairs, func(a, b idPair) int {
		switch na, nb := x.names[a.field-1], x.names[b.field-1]; {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	})
	return pairs
}
