package disclosure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/candour/candour/datasets"
)

// Hierarchies. A key or dimension field may declare that its units nest
// in larger ones (candour:parent): practices in primary care networks,
// networks in ICBs. The audit then adds each group of children up to the
// parent's cell — the cell whose identity has the parent field set to the
// parent's code instead of the child field — in any file of the release
// (and linked releases) that publishes it, whether or not the children's
// file repeats the parent's code in a column. Each child's parent comes
// from a mapping file of the release or from the organisation directory
// (Input.Directory); a child with no parent is left out of its parent's
// sum, so the relation does not add up and is reported like any margin
// that does not.

// parentLink is a resolved candour:parent declaration.
type parentLink struct {
	child  string            // the child field's name
	parent string            // the parent field's name
	of     map[string]string // child code → parent code
	source string            // where the links come from, in words
}

// resolveParents reads every candour:parent declaration of the files.
func resolveParents(files []File, directory map[string]map[string]string) (map[string]parentLink, error) {
	out := map[string]parentLink{}
	for _, f := range files {
		for _, fl := range f.Resource.Schema.Fields {
			p := fl.Parent
			if p == nil {
				continue
			}
			link := parentLink{child: fl.Name, parent: p.Field}
			switch {
			case p.Mapping != "":
				of, err := mappingFrom(files, p.Mapping, fl.Name, p.Field)
				if err != nil {
					return nil, fmt.Errorf("disclosure: file %q: field %q: candour:parent.mapping: %w", f.Name, fl.Name, err)
				}
				link.of, link.source = of, "the mapping file "+p.Mapping
			default:
				link.of, link.source = directory[p.Directory], "the organisation directory ("+p.Directory+")"
			}
			if prev, ok := out[fl.Name]; ok && prev.parent != link.parent {
				return nil, fmt.Errorf("disclosure: file %q: field %q: candour:parent.field %q differs from another file's %q", f.Name, fl.Name, link.parent, prev.parent)
			}
			out[fl.Name] = link
		}
	}
	return out, nil
}

// mappingFrom reads child → parent codes from the release file called
// name, by its columns child and parent.
func mappingFrom(files []File, name, child, parent string) (map[string]string, error) {
	i := slices.IndexFunc(files, func(f File) bool { return f.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%q is not a file of this release", name)
	}
	s := files[i].Resource.Schema
	ci, pi := s.FieldIndex(child), s.FieldIndex(parent)
	if ci < 0 || pi < 0 {
		return nil, fmt.Errorf("file %q needs columns %q and %q", name, child, parent)
	}
	of := map[string]string{}
	for _, row := range files[i].Rows {
		c, p := row.Cells[ci], row.Cells[pi]
		if prev, ok := of[c]; ok && prev != p {
			return nil, fmt.Errorf("file %q, row %d: %s %q is mapped to both %q and %q", name, row.Record, child, c, prev, p)
		}
		of[c] = p
	}
	return of, nil
}

// hierarchyRelations adds, for every table with a field that nests, one
// relation per parent cell published anywhere: the parent equals the sum
// of its children.
func (b *modelBuilder) hierarchyRelations(parents map[string]parentLink) {
	if len(parents) == 0 {
		return
	}
	for ti, t := range b.m.tables {
		for _, dc := range t.identCols {
			link, ok := parents[t.schema.Fields[dc].Name]
			if !ok || link.of == nil {
				continue
			}
			b.childRelations(ti, dc, link)
		}
	}
}

// childRelations adds the relations of one nesting field of table ti.
func (b *modelBuilder) childRelations(ti, dc int, link parentLink) {
	m, t := b.m, b.m.tables[ti]
	d := t.schema.Fields[dc]
	for col, fi := range t.fields {
		if !fi.additive {
			continue
		}
		type group struct {
			parts []int
			bad   bool
		}
		var order []int32
		groups := map[int32]*group{}
		for r := range t.cells {
			code := t.cells[r][dc]
			if slices.Contains(d.TotalValues, code) {
				continue
			}
			parent, ok := link.of[code]
			if !ok {
				continue
			}
			id := b.parentIdentity(ti, r, dc, link.parent, parent)
			g, ok := groups[id]
			if !ok {
				g = &group{}
				groups[id] = g
				order = append(order, id)
			}
			if pv, ok := m.varOf(obs{ti, r, col}); ok {
				g.parts = append(g.parts, pv)
			} else {
				g.bad = true
			}
		}
		for _, id := range order {
			g := groups[id]
			if g.bad {
				continue
			}
			if mv, ok := b.cellOf(t.version, b.fieldIDs[ti][col], id); ok {
				b.addEq(int(mv), g.parts, m.vars[mv].obs[0])
			}
		}
	}
}

// DirectoryLinks lists the directory links the files' candour:parent
// declarations ask for, so that the caller can supply Input.Directory.
func DirectoryLinks(files []datasets.Resource) []string {
	var out []string
	for _, r := range files {
		for _, f := range r.Schema.Fields {
			if p := f.Parent; p != nil && p.Directory != "" && !slices.Contains(out, p.Directory) {
				out = append(out, p.Directory)
			}
		}
	}
	return out
}

// unmappedFindings reports, for each current table with a nesting field,
// the codes with no parent: their cells are left out of their parents'
// sums, so a parent cell that counts them will not add up.
func (c *checker) unmappedFindings(current []*table, parents map[string]parentLink) {
	for _, t := range current {
		for _, dc := range t.identCols {
			f := t.schema.Fields[dc]
			link, ok := parents[f.Name]
			if !ok {
				continue
			}
			var missing []string
			seen := map[string]bool{}
			for r := range t.cells {
				code := t.cells[r][dc]
				if _, ok := link.of[code]; ok || seen[code] || slices.Contains(f.TotalValues, code) || slices.Contains(f.NationalValues, code) {
					continue
				}
				seen[code] = true
				missing = append(missing, code)
			}
			if len(missing) == 0 {
				continue
			}
			shown := missing[:min(len(missing), 10)]
			c.add(Finding{Kind: KindUnmapped, File: t.name, Column: dc + 1, Field: f.Name, Value: strings.Join(shown, ", "),
				Message: fmt.Sprintf("%d %s of column %d (%s) %s no %s in %s (%s%s); their cells are left out of the %s sums, so a %s cell that counts them will not add up.",
					len(missing), pluralInt(len(missing), "code", "codes"), dc+1, f.Name, pluralInt(len(missing), "has", "have"), link.parent, link.source,
					strings.Join(shown, ", "), more(len(missing) > len(shown)), link.parent, link.parent)})
		}
	}
}

func more(cut bool) string {
	if cut {
		return ", …"
	}
	return ""
}
