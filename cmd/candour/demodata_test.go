package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"strings"
	"testing"
)

// TestDemoDataIsByteIdentical checks every demo file against the manifests
// copied with it: SHA256SUMS (from ../shared/data) and SHA256SUMS.other
// (the inventory from ../shared/reference and the data README). Importers, never hand edits,
// deal with the files' mess.
func TestDemoDataIsByteIdentical(t *testing.T) {
	listed := map[string]bool{"SHA256SUMS": true, "SHA256SUMS.other": true, ".gitattributes": true}
	for _, manifest := range []string{"SHA256SUMS", "SHA256SUMS.other"} {
		f, err := demoFiles.Open("demodata/" + manifest)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			want, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				t.Fatalf("%s: bad line %q", manifest, sc.Text())
			}
			n++
			listed[name] = true
			if got := sha256Of(t, "demodata/"+name); got != want {
				t.Errorf("%s: sha256 %s, manifest says %s: the copy differs from the original", name, got, want)
			}
		}
		f.Close()
		if n == 0 {
			t.Fatalf("%s lists no files", manifest)
		}
	}
	entries, err := fs.ReadDir(demoFiles, "demodata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("demodata/%s is not in a manifest: every demo file must be a checked copy", e.Name())
		}
	}
}

func sha256Of(t *testing.T, name string) string {
	t.Helper()
	f, err := demoFiles.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
