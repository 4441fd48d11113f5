// Package auditlog is Candour's append-only, hash-chained audit log: the
// entries, how each is hashed and chained to the one before, and how a
// chain is verified. It has no storage (auditsqlite stores it) and never
// decides what is public.
//
// # Hashing, so that anyone can check the chain
//
// Each entry has a payload — the SHA-256 of the public files it concerns
// and its details (checklist answers, reasons) — and a header. Two hashes
// are kept:
//
//	PayloadHash = hex(SHA-256(P)), P the compact JSON
//	              {"details":D,"files":[{"name":N,"sha256":S},…]}
//	              with files sorted by name, D the details re-encoded
//	              compactly with object keys sorted (null when none), and
//	              no HTML escaping.
//	Hash        = hex(SHA-256(H)), H the compact JSON array
//	              ["candour-audit/1",Seq,At,Actor,Action,Release,PayloadHash,Prev]
//	              with At in UTC, RFC 3339 with nanoseconds
//	              (2026-03-01T09:30:00.123456789Z, trailing zeros dropped),
//	              Release 0 when none, no HTML escaping.
//
// Prev is the Hash of the entry before (64 zeros for the first). A public
// export may leave out an entry's payload (files and details of a release
// still under embargo) and keep its PayloadHash: the chain of headers still
// verifies, and the payload can be checked once it is published.
//
// # Heads kept outside the log, so that it cannot be shortened unseen
//
// A chain proves that no entry was changed, removed or reordered, but not
// that none was cut from its end: a log truncated to its first N entries
// is a valid chain. So the head is also written down outside the log, in
// places its keeper cannot quietly rewrite once they are public:
//
//   - At each publication the head as of the publication's own entry (its
//     Seq and Hash) is recorded with the release and carried in the
//     release's public manifest ("auditChainHead") and on the transparency
//     page. Anyone who kept a copy can later ask for the log and check the
//     head is still in it.
//   - A backup records the head at the moment of its snapshot.
//   - An operator may hold heads of their own (candour audit verify
//     --expect-head SEQ:HASH).
//
// The head is kept in the catalogue's release record (two columns of the
// releases table, written by workflowsqlite in the same transaction as the
// publication and its audit entry) rather than in a table of its own: it is
// public metadata of a published release, read wherever the release is
// (manifest, pages, listings), and it becomes visible exactly when the
// release's content does, through the same published view, so it can never
// leak before the embargo. It is written once and never changed.
//
// [VerifyHeads] checks a chain against such [KnownHead]s: every one must
// still be an entry of the chain, with the same sequence number and hash.
// A head past the chain's end means entries were cut from the end; a head
// whose sequence number now holds another hash means the chain was
// rewritten from there.
package auditlog

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileHash is a file named in an entry, with its SHA-256.
type FileHash struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Entry is one entry of the log.
type Entry struct {
	Seq         int64
	At          time.Time
	Actor       string
	Action      string // e.g. "release.submitted", "review.approve", "user.added"
	Release     int64  // 0 when the entry is not about a release
	Files       []FileHash
	Details     json.RawMessage
	PayloadHash string
	Prev        string
	Hash        string
	// Withheld is set on an entry whose payload was left out (Redacted).
	Withheld bool
}

// Genesis is the Prev of the first entry.
var Genesis = strings.Repeat("0", 64)

// Head is the last entry's position and hash; the zero Head is an empty
// log.
type Head struct {
	Seq  int64
	Hash string
}

// String writes the head as SEQ:HASH, the form ParseHead reads.
func (h Head) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads a head written as SEQ:HASH: a sequence number of 1 or
// more and a SHA-256 in 64 lower-case hexadecimal digits.
func ParseHead(s string) (Head, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Head{}, fmt.Errorf("chain head %q: want SEQ:HASH, such as 42:%s", s, Genesis)
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 1 {
		return Head{}, fmt.Errorf("chain head %q: the sequence number must be a whole number of 1 or more", s)
	}
	h := Head{Seq: seq, Hash: strings.ToLower(hash)}
	if !validHash(h.Hash) {
		return Head{}, fmt.Errorf("chain head %q: the hash must be 64 hexadecimal digits", s)
	}
	return h, nil
}

func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only strings, numbers and decoded JSON are encoded
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// canonicalDetails re-encodes details with sorted keys and numbers as
// written; invalid JSON is kept as a JSON string of its text, so it is
// still covered by the hash.
func canonicalDetails(d json.RawMessage) any {
	if len(bytes.TrimSpace(d)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(d))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(d)
	}
	return v
}

// ComputePayloadHash returns the hash of the entry's files and details.
func (e Entry) ComputePayloadHash() string {
	files := slices.Clone(e.Files)
	slices.SortFunc(files, func(a, b FileHash) int { return strings.Compare(a.Name, b.Name) })
	if files == nil {
		files = []FileHash{}
	}
	sum := sha256.Sum256(marshal(struct {
		Details any        `json:"details"`
		Files   []FileHash `json:"files"`
	}{canonicalDetails(e.Details), files}))
	return hex.EncodeToString(sum[:])
}

// FormatInstant is how At is written in the hash.
func FormatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ComputeHash returns the hash of the entry's header (which includes its
// PayloadHash and Prev).
func (e Entry) ComputeHash() string {
	sum := sha256.Sum256(marshal([]any{"candour-audit/1", e.Seq, FormatInstant(e.At), e.Actor, e.Action, e.Release, e.PayloadHash, e.Prev}))
	return hex.EncodeToString(sum[:])
}

// Seal makes e the entry after head: it sets Seq, Prev, PayloadHash and
// Hash.
func Seal(head Head, e Entry) Entry {
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	if e.Prev == "" {
		e.Prev = Genesis
	}
	e.At = e.At.UTC()
	e.PayloadHash = e.ComputePayloadHash()
	e.Hash = e.ComputeHash()
	return e
}

// Redacted returns the entry without its payload, keeping PayloadHash.
func (e Entry) Redacted() Entry {
	e.Files, e.Details, e.Withheld = nil, nil, true
	return e
}

// BreakError says where and why a chain does not verify.
type BreakError struct {
	Seq    int64
	Reason string
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("audit log entry %d: %s", e.Seq, e.Reason)
}

// Verify checks a whole log, oldest first: sequence numbers run 1, 2, …;
// each Prev is the previous Hash; each PayloadHash matches the payload
// (unless the entry is Withheld); each Hash matches the header. It returns
// the head, or a *BreakError at the first entry that fails.
func Verify(entries iter.Seq2[Entry, error]) (Head, error) {
	head := Head{}
	for e, err := range entries {
		if err != nil {
			return head, err
		}
		prev := head.Hash
		if prev == "" {
			prev = Genesis
		}
		switch {
		case e.Seq != head.Seq+1:
			return head, &BreakError{Seq: e.Seq, Reason: fmt.Sprintf("comes after entry %d: an entry is missing or out of order", head.Seq)}
		case e.Prev != prev:
			return head, &BreakError{Seq: e.Seq, Reason: "does not link to the hash of the entry before it"}
		case !e.Withheld && e.ComputePayloadHash() != e.PayloadHash:
			return head, &BreakError{Seq: e.Seq, Reason: "its files or details have changed since it was written"}
		case e.ComputeHash() != e.Hash:
			return head, &BreakError{Seq: e.Seq, Reason: "its time, actor, action or release has changed since it was written"}
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	return head, nil
}

// KnownHead is a chain head recorded outside the log, with where it was
// found (a release's manifest, a backup, the command line).
type KnownHead struct {
	Head
	// Source names where the head was recorded, for messages: e.g.
	// "the manifest of release shmi version 10".
	Source string
}

// MissingHead is a known head the chain no longer holds.
type MissingHead struct {
	KnownHead
	// Found is the hash the chain now has at the head's sequence number,
	// or "" when the chain ends before it.
	Found string
}

// MissingHeadsError says that a chain which verifies on its own lacks
// heads recorded outside it: entries were cut from its end, or it was
// rewritten from an entry on.
type MissingHeadsError struct {
	// Head is the chain's head as it is now.
	Head Head
	// Missing lists the heads not found, by sequence number.
	Missing []MissingHead
}

func (e *MissingHeadsError) Error() string {
	var b strings.Builder
	if len(e.Missing) == 1 {
		b.WriteString("the audit log no longer holds a chain head recorded outside it: ")
	} else {
		fmt.Fprintf(&b, "the audit log no longer holds %d chain heads recorded outside it:", len(e.Missing))
	}
	for _, m := range e.Missing {
		if len(e.Missing) > 1 {
			b.WriteString("\n  - ")
		}
		fmt.Fprintf(&b, "entry %d with hash %s, carried by %s: ", m.Seq, m.Hash, m.Source)
		if m.Found == "" {
			fmt.Fprintf(&b, "the chain now ends at entry %d, so entries have been removed from its end", e.Head.Seq)
		} else {
			fmt.Fprintf(&b, "entry %d now has hash %s, so the chain was rewritten from there", m.Seq, m.Found)
		}
	}
	return b.String()
}

// VerifyHeads is Verify, and then checks that the chain still holds every
// known head: an entry with the head's sequence number and hash. When the
// chain itself breaks it returns Verify's *BreakError; when it verifies
// but lacks known heads, a *MissingHeadsError naming each of them (which
// covers a chain shorter than the highest known head).
func VerifyHeads(entries iter.Seq2[Entry, error], known []KnownHead) (Head, error) {
	wanted := make(map[int64]bool, len(known))
	for _, k := range known {
		wanted[k.Seq] = true
	}
	found := map[int64]string{}
	observed := func(yield func(Entry, error) bool) {
		for e, err := range entries {
			if err == nil && wanted[e.Seq] {
				found[e.Seq] = e.Hash
			}
			if !yield(e, err) {
				return
			}
		}
	}
	head, err := Verify(observed)
	if err != nil {
		return head, err
	}
	var missing []MissingHead
	for _, k := range known {
		if k.Seq <= 0 {
			continue // the head of an empty log: every chain starts from it
		}
		// Every entry found was verified: Verify returned no error.
		if got, ok := found[k.Seq]; !ok || got != k.Hash {
			missing = append(missing, MissingHead{KnownHead: k, Found: got})
		}
	}
	if len(missing) > 0 {
		slices.SortStableFunc(missing, func(a, b MissingHead) int {
			return cmp.Or(cmp.Compare(a.Seq, b.Seq), strings.Compare(a.Source, b.Source))
		})
		return head, &MissingHeadsError{Head: head, Missing: missing}
	}
	return head, nil
}
