package auditlog

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseHead(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	cases := []struct {
		name, in string
		want     Head
		wantErr  string
	}{
		{"plain", "42:" + hash, Head{Seq: 42, Hash: hash}, ""},
		{"upper-case hash", " 7:" + strings.ToUpper(hash) + " ", Head{Seq: 7, Hash: hash}, ""},
		{"no colon", "42", Head{}, "want SEQ:HASH"},
		{"sequence zero", "0:" + hash, Head{}, "1 or more"},
		{"negative sequence", "-3:" + hash, Head{}, "1 or more"},
		{"sequence not a number", "x:" + hash, Head{}, "1 or more"},
		{"short hash", "42:abc", Head{}, "64 hexadecimal"},
		{"hash not hexadecimal", "42:" + strings.Repeat("zz", 32), Head{}, "64 hexadecimal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseHead(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseHead(%q) = %v, %v; want an error saying %q", c.in, got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseHead(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			if back, err := ParseHead(got.String()); err != nil || back != got {
				t.Errorf("String does not round-trip: %q gives %v, %v", got.String(), back, err)
			}
		})
	}
}

// rewritten is the sample log with its second entry changed and every
// entry after it sealed again: a chain that verifies on its own.
func rewritten() []Entry {
	es := sample()[:1]
	head := Head{Seq: es[0].Seq, Hash: es[0].Hash}
	for _, e := range sample()[1:] {
		e.Actor = "eve"
		e = Seal(head, e)
		head = Head{Seq: e.Seq, Hash: e.Hash}
		es = append(es, e)
	}
	return es
}

func TestVerifyHeads(t *testing.T) {
	es := sample()
	at := func(i int, source string) KnownHead {
		return KnownHead{Head: Head{Seq: es[i].Seq, Hash: es[i].Hash}, Source: source}
	}
	cases := []struct {
		name    string
		log     []Entry
		known   []KnownHead
		missing []int64 // sequence numbers of the heads reported missing
		ends    bool    // reported as cut from the end rather than rewritten
	}{
		{"no known heads", es, nil, nil, false},
		{"every head present", es, []KnownHead{at(1, "release a"), at(2, "release b")}, nil, false},
		{"the empty log's head is always present", es[:1], []KnownHead{{Source: "nothing"}}, nil, false},
		{"newest entry removed", es[:2], []KnownHead{at(1, "release a"), at(2, "release b")}, []int64{3}, true},
		{"two newest entries removed", es[:1], []KnownHead{at(2, "release b"), at(1, "release a")}, []int64{2, 3}, true},
		{"every entry removed", nil, []KnownHead{at(0, "release a")}, []int64{1}, true},
		{"rewritten from entry 2", rewritten(), []KnownHead{at(0, "release a"), at(1, "release b")}, []int64{2}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, err := VerifyHeads(seq(c.log), c.known)
			if len(c.missing) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if want := int64(len(c.log)); head.Seq != want {
					t.Errorf("head %d, want %d", head.Seq, want)
				}
				return
			}
			var me *MissingHeadsError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MissingHeadsError", err)
			}
			if me.Head != head || head.Seq != int64(len(c.log)) {
				t.Errorf("error's head %v, returned %v, want entry %d", me.Head, head, len(c.log))
			}
			var got []int64
			for _, m := range me.Missing {
				got = append(got, m.Seq)
				// The message names the head's sequence number, hash and source.
				for _, want := range []string{"entry " + strconv.FormatInt(m.Seq, 10) + " with hash " + m.Hash, "carried by " + m.Source} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message %q lacks %q", err, want)
					}
				}
				if (m.Found == "") != c.ends {
					t.Errorf("entry %d: Found %q, want it empty only when the chain ends before it", m.Seq, m.Found)
				}
			}
			if !slices.Equal(got, c.missing) {
				t.Errorf("missing heads %v, want %v", got, c.missing)
			}
			want := "so the chain was rewritten"
			if c.ends {
				want = "entries have been removed from its end"
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		})
	}
}

func TestVerifyHeadsReportsABreakFirst(t *testing.T) {
	es := sample()
	known := []KnownHead{{Head: Head{Seq: es[2].Seq, Hash: es[2].Hash}, Source: "release b"}}
	es[1].At = es[1].At.Add(time.Second)
	_, err := VerifyHeads(seq(es), known)
	var brk *BreakError
	if !errors.As(err, &brk) || brk.Seq != 2 {
		t.Fatalf("got %v, want a break at entry 2", err)
	}
}
