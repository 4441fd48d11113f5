package disclosure

import (
	"encoding/binary"
	"slices"
)

// identities interns cell identities for the audit model. A cell's
// identity is the set of its row's (field, value) pairs, leaving out a
// dimension whose value is one of its total values (see rowIdentity);
// cells of different files with the same identity are the same unknown.
// Field names are interned to numbers, and each field's values to numbers
// 0, 1, … of that field. An identity is written as its pairs in
// field-name order, eight bytes a pair, so that a release of millions of
// rows is modelled with small map keys rather than quoted strings
// (rowIdentity gives the same identity in words, for the corrections' cell
// links).
//
// Once the tables' rows are interned, useDense numbers the identities of
// the identity fields densely: an identity all of whose values were known
// then is the mixed-radix number of its values (one digit a field, 0 for
// a field it lacks) and is found in an array, which for a release of
// millions of rows is several times faster than hashing its pairs. Any
// other identity (a value first seen later, a field that is not an
// identity field) goes to the maps; which way an identity goes depends
// only on its pairs, so it always gets the same number.
type identities struct {
	fields map[string]uint32
	names  []string            // field number − 1 → name
	values []map[string]uint32 // by field number − 1: value → number
	small  map[identKey]int32  // identities of up to identKeyPairs pairs
	ids    map[string]int32    // longer ones
	n      int32
	buf    []byte
	dense  denseIdentities
	expect int // identities expected: the maps are sized for them unless the array takes them
}

// denseIdentities is the array of identities by mixed-radix number (see
// identities).
type denseIdentities struct {
	ids    []int32  // by number: 1 + the identity, 0 for none yet
	slotOf []int32  // by field number − 1: its digit, or −1
	radix  []uint64 // by digit: 1 + the values the field had
	stride []uint64 // by digit
}

// useDense numbers the identities of fields densely, if the array would
// have at most limit entries; otherwise it makes room in the maps for the
// identities expected. (Sized up front, a map of millions of identities
// the array then takes would cost hundreds of megabytes for nothing.)
func (x *identities) useDense(fields []uint32, limit int) {
	if !x.tryDense(fields, limit) && len(x.small) == 0 {
		x.small = make(map[identKey]int32, x.expect)
	}
}

// tryDense sets up the array of identities, if it would have at most
// limit entries. The last field is the least significant digit: files
// are mostly sorted by their columns in order, so that rows next to each
// other then have identities next to each other in the array (with the
// first field least significant, each row's would be a stride of
// megabytes from the last).
func (x *identities) tryDense(fields []uint32, limit int) bool {
	d := denseIdentities{slotOf: make([]int32, len(x.names))}
	for i := range d.slotOf {
		d.slotOf[i] = -1
	}
	size := uint64(1)
	for _, f := range slices.Backward(fields) {
		if d.slotOf[f-1] >= 0 {
			continue
		}
		d.slotOf[f-1] = int32(len(d.radix))
		r := uint64(len(x.values[f-1])) + 1
		d.radix = append(d.radix, r)
		d.stride = append(d.stride, size)
		if size *= r; size > uint64(limit) {
			return false
		}
	}
	d.ids = make([]int32, size)
	x.dense = d
	return true
}

// denseNumber is the mixed-radix number of pairs, if they have one.
func (x *identities) denseNumber(pairs []idPair) (uint64, bool) {
	d := &x.dense
	if d.ids == nil {
		return 0, false
	}
	var key uint64
	for _, p := range pairs {
		if int(p.field) > len(d.slotOf) {
			return 0, false
		}
		slot := d.slotOf[p.field-1]
		if slot < 0 || uint64(p.value)+1 >= d.radix[slot] {
			return 0, false
		}
		key += (uint64(p.value) + 1) * d.stride[slot]
	}
	return key, true
}

// identKeyPairs is the most pairs an identity written as an identKey
// holds; field numbers start at 1 so that a zero ends the pairs.
const identKeyPairs = 4

type identKey [2 * identKeyPairs]uint32

// idPair is one (field, value) pair of an identity, interned.
type idPair struct{ field, value uint32 }

// newIdentities expects about n identities (see useDense).
func newIdentities(n int) *identities {
	return &identities{fields: map[string]uint32{}, small: map[identKey]int32{}, ids: map[string]int32{}, expect: n}
}

// field returns the number of a field name.
func (x *identities) field(name string) uint32 {
	if n, ok := x.fields[name]; ok {
		return n
	}
	x.names = append(x.names, name)
	x.values = append(x.values, map[string]uint32{})
	n := uint32(len(x.names))
	x.fields[name] = n
	return n
}

// value returns the number of a value of field.
func (x *identities) value(field uint32, v string) uint32 {
	vs := x.values[field-1]
	if n, ok := vs[v]; ok {
		return n
	}
	n := uint32(len(vs))
	vs[v] = n
	return n
}

// valuesOf is how many values field has had.
func (x *identities) valuesOf(field uint32) int { return len(x.values[field-1]) }

// of returns the identity of pairs, which must be in field-name order.
func (x *identities) of(pairs []idPair) int32 {
	if key, ok := x.denseNumber(pairs); ok {
		return x.ofDense(key)
	}
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

// ofDense returns the identity of mixed-radix number key (see
// denseNumber).
func (x *identities) ofDense(key uint64) int32 {
	id := x.dense.ids[key]
	if id == 0 {
		id = x.next() + 1
		x.dense.ids[key] = id
	}
	return id - 1
}

// digits returns, for fields in order, each one's digit in the mixed-radix
// numbers, or −1 for a field that has none (see denseNumber).
func (x *identities) digits(fields []uint32) []int32 {
	out := make([]int32, len(fields))
	for k, f := range fields {
		out[k] = -1
		if x.dense.ids != nil && int(f) <= len(x.dense.slotOf) {
			out[k] = x.dense.slotOf[f-1]
		}
	}
	return out
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
