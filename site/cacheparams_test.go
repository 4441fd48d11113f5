package site

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every query parameter a handler of this package reads by name is either
// part of the cache key (cacheableParams) or declared as read only by
// pages the cache never holds (uncachedParams). A parameter in neither
// would make every request that uses it bypass the cache unnoticed.
func TestEveryQueryParameterIsClassifiedForTheCache(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]string{} // parameter → where it is read
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !slices.Contains([]string{"Query", "QueryInt", "QueryBool", "QueryFloat"}, sel.Sel.Name) {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err == nil {
				read[v] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	if len(read) < 10 {
		t.Fatalf("found only %d query parameters read by name; the scan is broken: %v", len(read), read)
	}
	for p, where := range read {
		if !cacheableParams[p] && !slices.Contains(uncachedParams, p) {
			t.Errorf("query parameter %q (read at %s) is neither in cacheableParams nor in uncachedParams", p, where)
		}
	}
	for _, p := range uncachedParams {
		if cacheableParams[p] {
			t.Errorf("query parameter %q is in both lists", p)
		}
	}
}
