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
package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
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
