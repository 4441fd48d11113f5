// Package migrations reads a store's migration files: an fs.FS of files
// named NNNN_description.sql, in order of NNNN, each with the SHA-256 of
// its bytes (recorded when applied, so that a file changed afterwards is
// noticed). It knows no database: sqlitedb and clickhousedb apply the
// files and record them, each in its own way.
package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Set is one store's migrations.
type Set struct {
	Component string // e.g. "catalogue"; unique per database
	Files     fs.FS  // files NNNN_description.sql at the root
}

// Embedded is the Set of a store whose migrations are embedded in fsys
// under the folder "migrations" (//go:embed migrations/*.sql).
func Embedded(component string, fsys fs.FS) Set {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(err) // fs.Sub fails only for an invalid path, and this one is fixed
	}
	return Set{Component: component, Files: sub}
}

// File is one migration.
type File struct {
	Version int
	Name    string
	SQL     string
	SHA256  string // hex, of the file's bytes
}

// Read returns the migration files at the root of fsys in order of
// version, refusing a name without a version or two files with one.
func Read(fsys fs.FS) ([]File, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []File
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q: name must start with a positive number and an underscore", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration files %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, File{Version: v, Name: e.Name(), SQL: string(b), SHA256: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Pending returns the files not yet applied, given the applied versions
// and their recorded SHA-256. It refuses, before anything is applied, a
// recorded file that has changed since and a recorded version whose file
// is missing (a database newer than this program).
func Pending(files []File, applied map[int]string) ([]File, error) {
	known := map[int]bool{}
	var out []File
	for _, m := range files {
		known[m.Version] = true
		sum, ok := applied[m.Version]
		switch {
		case !ok:
			out = append(out, m)
		case sum != m.SHA256:
			return nil, fmt.Errorf("migration %s was changed after it was applied (recorded sha256 %s, file %s)", m.Name, sum, m.SHA256)
		}
	}
	for v := range applied {
		if !known[v] {
			return nil, fmt.Errorf("migration version %d is recorded but its file is missing (database newer than this program?)", v)
		}
	}
	return out, nil
}
