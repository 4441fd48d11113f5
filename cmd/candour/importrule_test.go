package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The import rule of architecture.md §2, by top-level folder: which other
// project folders a package in each folder may import.
var allowedImports = map[string][]string{
	"catalogue":  {},
	"datasets":   {},
	"content":    {},
	"indicators": {"datasets"},
	"publisher":  {"catalogue", "datasets", "indicators", "content"},
	"site":       {"catalogue", "datasets", "indicators", "content", "publisher"},
	"cmd":        {"catalogue", "datasets", "indicators", "content", "publisher", "site"},
}

// Packages that talk to storage: the public site may not import them, nor
// anything that reaches them. (database/sql/driver alone is only
// interfaces, which libraries such as github.com/google/uuid implement.)
var storagePackages = []string{"database/sql", "github.com/mattn/go-sqlite3", "github.com/ClickHouse/clickhouse-go"}

func isStorage(path string) bool {
	for _, s := range storagePackages {
		if path == s || (s != "database/sql" && strings.HasPrefix(path, s+"/")) {
			return true
		}
	}
	return false
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// importViolations checks packages of module against the import rule and
// returns one line per violation.
func importViolations(module string, pkgs []goPackage) []string {
	var out []string
	byPath := map[string]goPackage{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	folderOf := func(path string) (string, bool) {
		rest, ok := strings.CutPrefix(path, module+"/")
		if !ok {
			return "", false
		}
		folder, _, _ := strings.Cut(rest, "/")
		return folder, true
	}
	// An adapter is a project package that imports a storage package.
	isAdapter := func(path string) bool {
		p, ok := byPath[path]
		if _, ours := folderOf(path); !ok || !ours {
			return false
		}
		for _, imp := range p.Imports {
			if isStorage(imp) {
				return true
			}
		}
		return false
	}
	for _, p := range pkgs {
		from, ok := folderOf(p.ImportPath)
		if !ok {
			continue
		}
		allowed, known := allowedImports[from]
		if !known {
			out = append(out, fmt.Sprintf("%s: folder %q is not in the import rule", p.ImportPath, from))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := folderOf(imp)
			if !ok || to == from {
				continue
			}
			permitted := false
			for _, a := range allowed {
				permitted = permitted || a == to
			}
			if !permitted {
				out = append(out, fmt.Sprintf("%s imports %s: %s may import only %v", p.ImportPath, imp, from, allowed))
			}
		}
		if from != "site" {
			continue
		}
		for _, dep := range append(append([]string{}, p.Imports...), p.Deps...) {
			if isStorage(dep) {
				out = append(out, fmt.Sprintf("%s depends on %s: the site never reaches storage directly", p.ImportPath, dep))
			}
			if isAdapter(dep) {
				out = append(out, fmt.Sprintf("%s depends on storage adapter %s", p.ImportPath, dep))
			}
		}
	}
	return out
}

func TestImportRule(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json", "github.com/candour/candour/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	var ours int
	for _, p := range pkgs {
		if strings.HasPrefix(p.ImportPath, "github.com/candour/candour/") {
			ours++
		}
	}
	if ours < 10 {
		t.Fatalf("go list found only %d project packages; the check would prove nothing", ours)
	}
	for _, v := range importViolations("github.com/candour/candour", pkgs) {
		t.Error(v)
	}
}

// TestImportRuleCatchesViolations shows the check fails on the edges the
// rule forbids, so a passing TestImportRule means something.
func TestImportRuleCatchesViolations(t *testing.T) {
	const m = "example.org/c"
	adapter := goPackage{ImportPath: m + "/catalogue/cataloguesqlite", Imports: []string{"database/sql", m + "/catalogue"}}
	cases := []struct {
		name string
		pkgs []goPackage
		want string // "" means no violation
	}{
		{"site imports a storage adapter", []goPackage{adapter,
			{ImportPath: m + "/site", Imports: []string{m + "/catalogue/cataloguesqlite"}}}, "depends on storage adapter " + m + "/catalogue/cataloguesqlite"},
		{"site reaches an adapter through a helper", []goPackage{adapter,
			{ImportPath: m + "/site/helper", Imports: []string{"fmt"}, Deps: []string{m + "/catalogue/cataloguesqlite"}}}, "storage adapter"},
		{"site imports database/sql", []goPackage{
			{ImportPath: m + "/site", Imports: []string{"database/sql"}}}, "never reaches storage"},
		{"catalogue imports datasets", []goPackage{
			{ImportPath: m + "/catalogue", Imports: []string{m + "/datasets"}}}, "catalogue may import only"},
		{"indicators imports publisher", []goPackage{
			{ImportPath: m + "/indicators", Imports: []string{m + "/publisher"}}}, "indicators may import only"},
		{"datasets imports site", []goPackage{
			{ImportPath: m + "/datasets/rowsqlite", Imports: []string{m + "/site"}}}, "datasets may import only"},
		{"unknown folder", []goPackage{{ImportPath: m + "/util"}}, `folder "util"`},
		{"allowed edges", []goPackage{adapter,
			{ImportPath: m + "/publisher", Imports: []string{m + "/catalogue", m + "/datasets"}},
			{ImportPath: m + "/site", Imports: []string{m + "/catalogue", m + "/content"}},
			{ImportPath: m + "/cmd/candour", Imports: []string{m + "/catalogue/cataloguesqlite", m + "/site"}}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := importViolations(m, c.pkgs)
			if c.want == "" {
				if len(got) != 0 {
					t.Errorf("got violations %v, want none", got)
				}
				return
			}
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), c.want) {
				t.Errorf("got %v, want a violation containing %q", got, c.want)
			}
		})
	}
}
