package rowsqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"unsafe"

	"github.com/candour/candour/datasets"
)

// A block holds up to blockRows consecutive rows of one file, column by
// column, so that a filter reads only the columns it names and an export
// materialises only the rows that match. Its bytes (integers are uvarints):
//
//	rows, columns                  (columns: the most cells of any row)
//	short rows: n, then n × (row index, cells)
//	per column: its length in bytes, then
//	  kind byte: 'd' (dictionary) or 'p' (plain)
//	  zone byte: 1 when every cell present is a decimal number, followed
//	             by the least and greatest as float64 bits (8 bytes each,
//	             little-endian); else 0
//	  'd': k, k × (length, bytes), then a byte per row: the index of the
//	       row's value, or 255 when the row has no cell in this column
//	  'p': the size of the lengths that follow; per row that has a cell in
//	       this column, its length; then the cells' bytes, one after
//	       another (so skipping a cell touches only its length)
//	CRC-32C of all the above (4 bytes, little-endian)
//
// A column with at most 255 distinct values in the block is a dictionary:
// an equality filter compares its few values once, then bytes, and a
// block whose dictionary lacks every value asked for is skipped. The zone
// lets a numeric range filter skip a block, or pass all its rows, without
// reading a cell.
const (
	blockRows  = 2048      // rows per block at most
	blockBytes = 256 << 10 // bytes of cells per block at most (a block closes after the row that passes it)
	dictMax    = 255
	noCell     = 255
)

// blockWriter gathers rows for a block.
type blockWriter struct {
	rows  [][]string
	bytes int
}

func (b *blockWriter) add(cells []string) {
	b.rows = append(b.rows, slices.Clone(cells))
	for _, c := range cells {
		b.bytes += len(c)
	}
}

func (b *blockWriter) full() bool { return len(b.rows) >= blockRows || b.bytes >= blockBytes }

// encode returns the block's bytes and empties the writer.
func (b *blockWriter) encode() []byte {
	rows := b.rows
	columns := 0
	for _, r := range rows {
		columns = max(columns, len(r))
	}
	out := binary.AppendUvarint(nil, uint64(len(rows)))
	out = binary.AppendUvarint(out, uint64(columns))
	var short []int
	for i, r := range rows {
		if len(r) < columns {
			short = append(short, i)
		}
	}
	out = binary.AppendUvarint(out, uint64(len(short)))
	for _, i := range short {
		out = binary.AppendUvarint(out, uint64(i))
		out = binary.AppendUvarint(out, uint64(len(rows[i])))
	}
	var col []byte
	for c := 0; c < columns; c++ {
		col = encodeColumn(col[:0], rows, c)
		out = binary.AppendUvarint(out, uint64(len(col)))
		out = append(out, col...)
	}
	b.rows, b.bytes = b.rows[:0], 0
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendText(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

func encodeColumn(out []byte, rows [][]string, c int) []byte {
	index := map[string]int{}
	var dict []string
	plain := false
	numeric, lo, hi := true, math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if c >= len(r) {
			continue
		}
		v := r[c]
		if numeric {
			if x, ok := datasets.ParseDecimal(v); ok {
				lo, hi = min(lo, x), max(hi, x)
			} else {
				numeric = false
			}
		}
		if plain {
			continue
		}
		if _, ok := index[v]; !ok {
			if len(dict) == dictMax {
				plain = true // too many values for a dictionary
				continue
			}
			index[v] = len(dict)
			dict = append(dict, v)
		}
	}
	if plain {
		out = append(out, 'p')
	} else {
		out = append(out, 'd')
	}
	if numeric && lo <= hi {
		out = append(out, 1)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(lo))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(hi))
	} else {
		out = append(out, 0)
	}
	if plain {
		var lens []byte
		for _, r := range rows {
			if c < len(r) {
				lens = binary.AppendUvarint(lens, uint64(len(r[c])))
			}
		}
		out = binary.AppendUvarint(out, uint64(len(lens)))
		out = append(out, lens...)
		for _, r := range rows {
			if c < len(r) {
				out = append(out, r[c]...)
			}
		}
		return out
	}
	out = binary.AppendUvarint(out, uint64(len(dict)))
	for _, v := range dict {
		out = appendText(out, v)
	}
	for _, r := range rows {
		if c < len(r) {
			out = append(out, byte(index[r[c]]))
		} else {
			out = append(out, noCell)
		}
	}
	return out
}

var errBlock = errors.New("damaged row block")

// decoder reads uvarints and texts from a block's bytes. Texts are strings
// over those bytes, which must not change afterwards.
type decoder struct {
	data []byte
	pos  int
	err  error
}

func (d *decoder) uvarint() int {
	if d.err != nil {
		return 0
	}
	if d.pos < len(d.data) && d.data[d.pos] < 0x80 { // one byte: nearly every cell's length
		v := int(d.data[d.pos])
		d.pos++
		return v
	}
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 || v > uint64(len(d.data)) {
		d.err = errBlock
		return 0
	}
	d.pos += n
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n > len(d.data)-d.pos {
		d.err = errBlock
		return nil
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b
}

// skip passes over a text.
func (d *decoder) skip() {
	n := d.uvarint()
	if d.err == nil && n > len(d.data)-d.pos {
		d.err = errBlock
	}
	d.pos += n
}

func (d *decoder) text() string {
	b := d.bytes(d.uvarint())
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// block is a decoded block header; columns decode on demand.
type block struct {
	rows    int
	short   map[int]int // row index → cells, for rows with fewer than len(columns)
	columns []column
}

type column struct {
	dict     bool
	values   []string // dictionary values
	idx      []byte   // dictionary: per row
	zone     bool
	lo, hi   float64
	lens     []byte   // plain: the cells' lengths
	raw      []byte   // plain: the cells' bytes
	cells    []string // plain, once decoded: per row ("" where the row has no cell)
	position int      // its index
}

func decodeBlock(data []byte) (*block, error) {
	if len(data) < 4 {
		return nil, errBlock
	}
	sum := binary.LittleEndian.Uint32(data[len(data)-4:])
	data = data[:len(data)-4]
	if crc32.Checksum(data, castagnoli) != sum {
		return nil, fmt.Errorf("%w: its checksum does not match", errBlock)
	}
	d := &decoder{data: data}
	b := &block{rows: d.uvarint()}
	ncol := d.uvarint()
	if n := d.uvarint(); n > 0 && d.err == nil {
		b.short = make(map[int]int, n)
		for range n {
			i := d.uvarint()
			b.short[i] = d.uvarint()
		}
	}
	if d.err != nil || b.rows > blockRows*64 || ncol > len(data) {
		return nil, errBlock
	}
	b.columns = make([]column, ncol)
	for c := range b.columns {
		cd := &decoder{data: d.bytes(d.uvarint())}
		if d.err != nil {
			return nil, d.err
		}
		col := &b.columns[c]
		col.position = c
		kind := cd.bytes(1)
		zone := cd.bytes(1)
		if cd.err != nil {
			return nil, cd.err
		}
		if zone[0] == 1 {
			z := cd.bytes(16)
			if cd.err != nil {
				return nil, cd.err
			}
			col.zone = true
			col.lo = math.Float64frombits(binary.LittleEndian.Uint64(z))
			col.hi = math.Float64frombits(binary.LittleEndian.Uint64(z[8:]))
		}
		switch kind[0] {
		case 'd':
			col.dict = true
			k := cd.uvarint()
			if k > dictMax {
				return nil, errBlock
			}
			col.values = make([]string, k)
			for i := range col.values {
				col.values[i] = cd.text()
			}
			col.idx = cd.bytes(b.rows)
			if cd.err == nil && cd.pos != len(cd.data) {
				cd.err = errBlock
			}
			for _, x := range col.idx {
				if x != noCell && int(x) >= k {
					return nil, errBlock
				}
			}
		case 'p':
			col.lens = cd.bytes(cd.uvarint())
			col.raw = cd.data[cd.pos:]
		default:
			return nil, errBlock
		}
		if cd.err != nil {
			return nil, cd.err
		}
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("%w: %d bytes left over", errBlock, len(data)-d.pos)
	}
	return b, nil
}

// cellsIn returns how many cells row i has.
func (b *block) cellsIn(i int) int {
	if n, ok := b.short[i]; ok {
		return n
	}
	return len(b.columns)
}

// plain decodes a plain column's cells.
func (b *block) plain(col *column) error {
	if col.cells != nil || col.dict {
		return nil
	}
	cells := make([]string, b.rows)
	err := b.walk(col, func(i int) bool { return true }, func(i int, s string) { cells[i] = s })
	col.cells = cells
	return err
}

// walk calls take(i, cell) for each row i that has a cell in plain column
// col and for which want(i) is true, in row order, until want says there
// is nothing more to take (it returns true past the last row wanted, or
// the caller stops asking by having taken them all).
func (b *block) walk(col *column, want func(i int) bool, take func(i int, s string)) error {
	lens := &decoder{data: col.lens}
	off := 0
	for i := 0; i < b.rows; i++ {
		if b.short != nil && col.position >= b.cellsIn(i) {
			continue
		}
		n := lens.uvarint()
		if lens.err != nil || n > len(col.raw)-off {
			return errBlock
		}
		if want(i) && n > 0 {
			take(i, unsafe.String(&col.raw[off], n))
		}
		off += n
	}
	if lens.pos != len(lens.data) || off != len(col.raw) {
		return errBlock
	}
	return nil
}

// cell returns row i's cell in col (which must be decoded) and whether the
// row has one.
func (b *block) cell(col *column, i int) (string, bool) {
	if col.dict {
		x := col.idx[i]
		if x == noCell {
			return "", false
		}
		return col.values[x], true
	}
	return col.cells[i], col.position < b.cellsIn(i)
}
