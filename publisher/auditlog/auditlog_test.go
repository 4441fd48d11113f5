package auditlog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/publisher/auditlog"
)

// The golden values were computed with printf and sha256sum from the
// encodings the package doc describes, not with this package.
const (
	goldenPayload      = "72b5521223bd7bbec8427538cf931dcb2dbe595a617bb7257302ef5ea3234cc2"
	goldenHash         = "fdbb6bc4e48ee7ee50102194221046f5d1fc9c46d3dd89b8b9db2d7bcf370e28"
	emptyPayloadHash   = "ad68eb0e2d76044754d3dae770d3d10c60643e8114e4be3c210caf8f1ba4438e"
	goldenDetailsInput = `{ "c": {"d": null}, "b": [1, 2.50], "a": "x<y" }`
)

func goldenEntry() auditlog.Entry {
	bst := time.FixedZone("BST", 3600)
	return auditlog.Entry{
		At:      time.Date(2026, 1, 15, 10, 30, 0, 123456789, bst),
		Actor:   "alice@example.org",
		Action:  "release.approved",
		Release: 42,
		Files: []auditlog.FileHash{
			{Name: "waits.csv", SHA256: strings.Repeat("a", 64)},
			{Name: "a.csv", SHA256: strings.Repeat("b", 64)},
		},
		Details: json.RawMessage(goldenDetailsInput),
	}
}

func TestGolden(t *testing.T) {
	e := auditlog.Seal(auditlog.EmptyHead, goldenEntry())
	if e.Seq != 1 || e.Prev != auditlog.Genesis {
		t.Errorf("got seq %d prev %s, want 1 and genesis", e.Seq, e.Prev)
	}
	if e.PayloadHash != goldenPayload {
		t.Errorf("payload hash: got %s, want %s\ninput:\n%s", e.PayloadHash, goldenPayload, e.PayloadInput())
	}
	if e.Hash != goldenHash {
		t.Errorf("hash: got %s, want %s\ninput:\n%s", e.Hash, goldenHash, e.HashInput())
	}
	if got, want := string(e.Details), `{"a":"x<y","b":[1,2.50],"c":{"d":null}}`; got != want {
		t.Errorf("sealed details: got %s, want %s", got, want)
	}
	if e.Files[0].Name != "a.csv" {
		t.Errorf("sealed files not sorted: %v", e.Files)
	}
	if e.At.Location() != time.UTC {
		t.Errorf("sealed instant not in UTC: %v", e.At)
	}
	// Sealing must not reorder the caller's slice.
	if g := goldenEntry(); g.Files[0].Name != "waits.csv" {
		t.Fatal("fixture changed")
	}
}

func TestEmptyPayload(t *testing.T) {
	e := auditlog.Entry{At: time.Unix(0, 0), Actor: "a", Action: "b"}
	if got := e.ComputePayloadHash(); got != emptyPayloadHash {
		t.Errorf("got %s, want %s", got, emptyPayloadHash)
	}
	e.Details = json.RawMessage("null")
	if got := e.ComputePayloadHash(); got != emptyPayloadHash {
		t.Errorf("details null: got %s, want %s", got, emptyPayloadHash)
	}
}

func TestEscaping(t *testing.T) {
	cases := []struct {
		name, actor, want string
	}{
		{"plain", "bob", "actor=bob\n"},
		{"line feed", "bob\nseq=9", `actor=bob\nseq=9` + "\n"},
		{"carriage return", "bob\r", `actor=bob\r` + "\n"},
		{"backslash", `bo\b`, `actor=bo\\b` + "\n"},
		{"backslash n is not a line feed", `bob\n`, `actor=bob\\n` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := string(auditlog.Entry{Actor: c.actor, At: time.Unix(0, 0)}.HashInput())
			if !strings.Contains(in, "\n"+c.want) {
				t.Errorf("hash input %q does not contain %q", in, c.want)
			}
			if n := strings.Count(in, "\n"); n != 8 {
				t.Errorf("hash input has %d lines, want 8", n)
			}
		})
	}
	// Two entries that differ only in where a line break sits must differ.
	a := auditlog.Entry{Actor: "x\naction=y", Action: "z", At: time.Unix(0, 0)}
	b := auditlog.Entry{Actor: "x", Action: "y\naction=z", At: time.Unix(0, 0)}
	if a.ComputeHash() == b.ComputeHash() {
		t.Error("ambiguous encoding: different entries hash the same")
	}
}

func TestCanonicalJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, `null`},
		{` null `, `null`},
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{"{\n \"z\": [ true, false ],\n \"a\": \"<&>\" }", `{"a":"<&>","z":[true,false]}`},
		{`1e3`, `1e3`},
		{`"\u00e9"`, `"é"`},
	}
	for _, c := range cases {
		got, err := auditlog.CanonicalJSON(json.RawMessage(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("CanonicalJSON(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`{`, `1 }`, `{"a":1} {"b":2}`, `nul`} {
		if _, err := auditlog.CanonicalJSON(json.RawMessage(bad)); err == nil {
			t.Errorf("CanonicalJSON(%q): no error", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	good := goldenEntry()
	cases := []struct {
		name   string
		change func(*auditlog.Entry)
		want   string // "" for valid
	}{
		{"valid", func(*auditlog.Entry) {}, ""},
		{"no instant", func(e *auditlog.Entry) { e.At = time.Time{} }, "at:"},
		{"no actor", func(e *auditlog.Entry) { e.Actor = " " }, "actor:"},
		{"no action", func(e *auditlog.Entry) { e.Action = "" }, "action:"},
		{"negative release", func(e *auditlog.Entry) { e.Release = -1 }, "release:"},
		{"bad details", func(e *auditlog.Entry) { e.Details = json.RawMessage("{") }, "details:"},
		{"unnamed file", func(e *auditlog.Entry) { e.Files[0].Name = "" }, "no name"},
		{"duplicate file", func(e *auditlog.Entry) { e.Files[1].Name = e.Files[0].Name }, "twice"},
		{"upper-case hash", func(e *auditlog.Entry) { e.Files[0].SHA256 = strings.Repeat("A", 64) }, "sha256"},
		{"short hash", func(e *auditlog.Entry) { e.Files[0].SHA256 = "abc" }, "sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := good
			e.Files = slices.Clone(good.Files)
			c.change(&e)
			err := e.Validate()
			if c.want == "" {
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, auditlog.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

// chain seals n entries.
func chain(n int) []auditlog.Entry {
	var out []auditlog.Entry
	head := auditlog.EmptyHead
	for i := range n {
		e := goldenEntry()
		e.Actor = fmt.Sprintf("user%d", i)
		e.Release = int64(i % 3)
		e.At = e.At.Add(time.Duration(i) * time.Minute)
		e.Details = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		e = auditlog.Seal(head, e)
		head = auditlog.Head{Seq: e.Seq, Hash: e.Hash}
		out = append(out, e)
	}
	return out
}

func seq(entries []auditlog.Entry) iter.Seq2[auditlog.Entry, error] {
	return func(yield func(auditlog.Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func clone(entries []auditlog.Entry) []auditlog.Entry {
	out := slices.Clone(entries)
	for i := range out {
		out[i].Files = slices.Clone(out[i].Files)
		out[i].Details = slices.Clone(out[i].Details)
	}
	return out
}

func TestVerifySound(t *testing.T) {
	entries := chain(5)
	head, err := auditlog.Verify(seq(entries))
	if err != nil {
		t.Fatal(err)
	}
	if want := (auditlog.Head{Seq: 5, Hash: entries[4].Hash}); head != want {
		t.Errorf("got head %v, want %v", head, want)
	}
	if head, err := auditlog.Verify(seq(nil)); err != nil || head != auditlog.EmptyHead {
		t.Errorf("empty log: got %v, %v; want the empty head", head, err)
	}
}

func TestVerifyRedacted(t *testing.T) {
	entries := chain(4)
	for i := range entries {
		if i%2 == 0 {
			entries[i] = entries[i].Redacted()
		}
	}
	if entries[0].Files != nil || entries[0].Details != nil || entries[0].PayloadHash == "" {
		t.Fatalf("redacted entry keeps payload or loses its hash: %+v", entries[0])
	}
	if _, err := auditlog.Verify(seq(entries)); err != nil {
		t.Errorf("redacted chain: %v", err)
	}
	// A redacted entry whose payload hash was changed still fails.
	entries[2].PayloadHash = strings.Repeat("f", 64)
	assertBreak(t, entries, 3)
}

func assertBreak(t *testing.T, entries []auditlog.Entry, wantSeq int64) {
	t.Helper()
	_, err := auditlog.Verify(seq(entries))
	var b *auditlog.BreakError
	if !errors.As(err, &b) {
		t.Fatalf("got %v, want a BreakError", err)
	}
	if b.Seq != wantSeq {
		t.Errorf("broken at %d (%s), want %d", b.Seq, b.Reason, wantSeq)
	}
}

// flip changes one byte of s.
func flip(s string) string {
	b := []byte(s)
	if len(b) == 0 {
		return "x"
	}
	b[len(b)/2] ^= 0x01
	return string(b)
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func([]auditlog.Entry) []auditlog.Entry
		wantSeq int64
	}{
		{"seq", func(e []auditlog.Entry) []auditlog.Entry { e[2].Seq = 9; return e }, 9},
		{"instant by a nanosecond", func(e []auditlog.Entry) []auditlog.Entry { e[2].At = e[2].At.Add(1); return e }, 3},
		{"actor", func(e []auditlog.Entry) []auditlog.Entry { e[2].Actor = flip(e[2].Actor); return e }, 3},
		{"action", func(e []auditlog.Entry) []auditlog.Entry { e[2].Action = flip(e[2].Action); return e }, 3},
		{"release", func(e []auditlog.Entry) []auditlog.Entry { e[2].Release++; return e }, 3},
		{"file name", func(e []auditlog.Entry) []auditlog.Entry { e[2].Files[0].Name = flip(e[2].Files[0].Name); return e }, 3},
		{"file hash", func(e []auditlog.Entry) []auditlog.Entry {
			e[2].Files[1].SHA256 = flip(e[2].Files[1].SHA256)
			return e
		}, 3},
		{"file removed", func(e []auditlog.Entry) []auditlog.Entry { e[2].Files = e[2].Files[:1]; return e }, 3},
		{"details", func(e []auditlog.Entry) []auditlog.Entry {
			e[2].Details = json.RawMessage(`{"n":3}`)
			return e
		}, 3},
		{"payload hash", func(e []auditlog.Entry) []auditlog.Entry { e[2].PayloadHash = flip(e[2].PayloadHash); return e }, 3},
		{"prev", func(e []auditlog.Entry) []auditlog.Entry { e[2].Prev = flip(e[2].Prev); return e }, 3},
		{"hash", func(e []auditlog.Entry) []auditlog.Entry { e[2].Hash = flip(e[2].Hash); return e }, 3},
		{"deleted entry", func(e []auditlog.Entry) []auditlog.Entry { return slices.Delete(e, 2, 3) }, 4},
		{"deleted first entry", func(e []auditlog.Entry) []auditlog.Entry { return e[1:] }, 2},
		{"reordered entries", func(e []auditlog.Entry) []auditlog.Entry { e[2], e[3] = e[3], e[2]; return e }, 4},
		{"resealed entry with the rest kept", func(e []auditlog.Entry) []auditlog.Entry {
			forged := e[2]
			forged.Actor = "mallory"
			e[2] = auditlog.Seal(auditlog.Head{Seq: e[1].Seq, Hash: e[1].Hash}, forged)
			return e
		}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertBreak(t, c.tamper(clone(chain(5))), c.wantSeq)
		})
	}
}

func TestVerifyPassesSourceError(t *testing.T) {
	boom := errors.New("disk on fire")
	entries := chain(2)
	src := func(yield func(auditlog.Entry, error) bool) {
		if !yield(entries[0], nil) {
			return
		}
		yield(auditlog.Entry{}, boom)
	}
	head, err := auditlog.Verify(src)
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the source's error", err)
	}
	if head.Seq != 1 {
		t.Errorf("got head %v, want the head after entry 1", head)
	}
}
