// Package auditlog defines Candour's hash-chained, append-only audit log:
// the entry, its canonical encodings, sealing an entry onto the chain and
// verifying a chain. It is pure logic; auditsqlite stores the log.
//
// # Two hashes per entry
//
// Each entry carries two SHA-256 hashes, written as 64 lower-case hex
// digits:
//
//   - PayloadHash covers the entry's payload: the files it names (with their
//     SHA-256) and its Details. The payload of an entry about a release
//     still under embargo may be withheld from the public (see
//     [Entry.Redacted]); its PayloadHash is still published.
//   - Hash covers the entry's header — sequence number, instant, actor,
//     action, release, PayloadHash — and the Hash of the entry before it
//     (Prev). The first entry's Prev is 64 zeros ([Genesis]).
//
// So anyone can check that the published chain is unbroken without seeing
// embargoed content, and, once the content is public, that it is what was
// recorded at the time.
//
// # Escaping
//
// Text values are written with three substitutions, in one pass: a
// backslash becomes two backslashes, a line feed (LF, 0x0A) becomes the two
// characters \n, and a carriage return (CR, 0x0D) becomes \r. Every other
// byte is written as it is (text is UTF-8). After escaping a value holds no
// line break, so each field is exactly one line.
//
// # Payload encoding (version 1)
//
// PayloadHash is the SHA-256 of these lines, each ended by one LF:
//
//	candour-audit-payload-v1
//	file=<sha256> <name>        one line per file, in byte order of name
//	details=<canonical JSON>
//
// <sha256> and <name> are escaped as above and separated by one space. An
// entry without files has no file lines. <canonical JSON> is Details
// re-encoded compactly (no insignificant white space) with object keys in
// byte order, strings as Go's encoding/json writes them with HTML escaping
// off (so <, > and & stay as they are; U+2028 and U+2029 are written
// \u2028 and \u2029), and numbers exactly as spelt in the input. Empty
// Details encode as null. [Seal] stores Details in this canonical form, so
// the stored Details text is what was hashed. For example, an entry with
// one file and Details {"b":1,"a":"x"} hashes
//
//	printf 'candour-audit-payload-v1\nfile=<64 hex> waits.csv\ndetails={"a":"x","b":1}\n' | sha256sum
//
// # Entry encoding (version 1)
//
// Hash is the SHA-256 of these lines, each ended by one LF, in this order:
//
//	candour-audit-v1
//	seq=<decimal, no leading zeros>
//	at=<instant in UTC, YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ, always nine digits of fraction>
//	actor=<escaped text>
//	action=<escaped text>
//	release=<decimal; 0 when the entry is about no release>
//	payload=<PayloadHash>
//	prev=<Prev>
//
// For example (the golden entry of this package's tests):
//
//	printf 'candour-audit-v1\nseq=1\nat=2026-01-15T09:30:00.123456789Z\nactor=alice@example.org\naction=release.approved\nrelease=42\npayload=%s\nprev=%s\n' "$payload" "$(printf '0%.0s' $(seq 64))" | sha256sum
//
// # Verifying
//
// [Verify] walks entries in order and stops at the first whose sequence
// number is not one more than the last, whose Prev is not the last Hash,
// whose payload (when present) does not match PayloadHash, or whose Hash
// does not match its header. It returns the head (last sequence number and
// Hash) of a sound chain. Removing entries from the end of a log leaves a
// sound but shorter chain: to detect that, compare the head with one
// published or kept elsewhere earlier.
//
// # What it must not do
//
// It stores nothing and reads no clock; it never decides what an entry
// says (the stores that write entries do) and never holds secrets:
// callers must not put passwords, tokens or embargoed values in Details
// unless the entry will be redacted until publication.
package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Genesis is the Prev of the first entry: 64 zeros.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// instantLayout writes instants in UTC with nine fractional digits.
const instantLayout = "2006-01-02T15:04:05.000000000Z"

// FileHash names one file and its SHA-256 (64 lower-case hex digits).
type FileHash struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Entry is one record of the audit log.
type Entry struct {
	Seq     int64     `json:"seq"`     // 1 for the first entry, then one more each time
	At      time.Time `json:"at"`      // when the audited change happened
	Actor   string    `json:"actor"`   // who did it: a username, or a system actor such as "cmd"
	Action  string    `json:"action"`  // what was done, e.g. "release.approved", "user.added"
	Release int64     `json:"release"` // the release concerned, 0 if none
	// Files are the files the action concerns (for an approval, every public
	// file it is bound to). Part of the payload.
	Files []FileHash `json:"files,omitempty"`
	// Details are further facts as JSON, e.g. checklist answers or reasons.
	// Part of the payload. Never secrets.
	Details     json.RawMessage `json:"details,omitempty"`
	PayloadHash string          `json:"payloadHash"`
	Prev        string          `json:"prev"`
	Hash        string          `json:"hash"`
}

// Head is the last entry of a chain: its sequence number and Hash. The
// head of an empty chain is {0, Genesis}.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// EmptyHead is the head of an empty log.
var EmptyHead = Head{Seq: 0, Hash: Genesis}

// BreakError reports the first entry at which a chain fails verification.
type BreakError struct {
	Seq    int64  // the sequence number of the failing entry (as it claims)
	Reason string // what is wrong, in plain words
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.Seq, e.Reason)
}

// ErrInvalid is returned by Validate for an entry that cannot be sealed.
var ErrInvalid = errors.New("invalid audit entry")

// Validate reports whether e can be sealed: it needs an instant, an actor
// and an action, a non-negative release, Details that are valid JSON (or
// empty), and files with names, distinct names and SHA-256 values of 64
// lower-case hex digits.
func (e Entry) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case e.At.IsZero():
		return bad("at: missing")
	case e.At.UTC().Year() < 1 || e.At.UTC().Year() > 9999:
		return bad("at: year out of range")
	case strings.TrimSpace(e.Actor) == "":
		return bad("actor: missing")
	case strings.TrimSpace(e.Action) == "":
		return bad("action: missing")
	case e.Release < 0:
		return bad("release: must not be negative")
	}
	if len(e.Details) > 0 && !json.Valid(e.Details) {
		return bad("details: not valid JSON")
	}
	seen := map[string]bool{}
	for _, f := range e.Files {
		if f.Name == "" {
			return bad("files: a file has no name")
		}
		if seen[f.Name] {
			return bad("files: %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if !isHex64(f.SHA256) {
			return bad("files: %q: sha256 must be 64 lower-case hex digits", f.Name)
		}
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// escape applies the package's escaping (see the package doc).
func escape(s string) string {
	if !strings.ContainsAny(s, "\\\n\r") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// CanonicalJSON re-encodes a JSON value compactly with object keys sorted
// and numbers as spelt; empty input gives "null". It fails on invalid JSON.
func CanonicalJSON(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("canonical json: not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// PayloadInput returns the bytes whose SHA-256 is the entry's payload hash
// (see the package doc). Details that are not valid JSON, which Validate
// refuses, are written as details-invalid=<hex of the bytes> so that they
// still hash to something that no valid entry can match.
func (e Entry) PayloadInput() []byte {
	var b bytes.Buffer
	b.WriteString("candour-audit-payload-v1\n")
	files := slices.Clone(e.Files)
	slices.SortStableFunc(files, func(x, y FileHash) int { return strings.Compare(x.Name, y.Name) })
	for _, f := range files {
		b.WriteString("file=" + escape(f.SHA256) + " " + escape(f.Name) + "\n")
	}
	details, err := CanonicalJSON(e.Details)
	if err != nil {
		b.WriteString("details-invalid=" + hex.EncodeToString(e.Details) + "\n")
	} else {
		b.WriteString("details=")
		b.Write(details)
		b.WriteString("\n")
	}
	return b.Bytes()
}

// HashInput returns the bytes whose SHA-256 is the entry's Hash (see the
// package doc). It uses PayloadHash as stored, not recomputed.
func (e Entry) HashInput() []byte {
	var b strings.Builder
	b.WriteString("candour-audit-v1\n")
	b.WriteString("seq=" + strconv.FormatInt(e.Seq, 10) + "\n")
	b.WriteString("at=" + e.At.UTC().Format(instantLayout) + "\n")
	b.WriteString("actor=" + escape(e.Actor) + "\n")
	b.WriteString("action=" + escape(e.Action) + "\n")
	b.WriteString("release=" + strconv.FormatInt(e.Release, 10) + "\n")
	b.WriteString("payload=" + escape(e.PayloadHash) + "\n")
	b.WriteString("prev=" + escape(e.Prev) + "\n")
	return []byte(b.String())
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ComputePayloadHash returns the SHA-256 (hex) of PayloadInput.
func (e Entry) ComputePayloadHash() string { return sum(e.PayloadInput()) }

// ComputeHash returns the SHA-256 (hex) of HashInput.
func (e Entry) ComputeHash() string { return sum(e.HashInput()) }

// HasPayload reports whether the entry carries its payload (files or
// details); a redacted entry does not, nor does one that never had any.
func (e Entry) HasPayload() bool { return len(e.Files) > 0 || len(e.Details) > 0 }

// Redacted returns the entry without its payload (Files and Details) but
// with its PayloadHash, for public export while a release is embargoed.
// A redacted entry still verifies as a link of the chain.
func (e Entry) Redacted() Entry {
	e.Files = nil
	e.Details = nil
	return e
}

// Seal returns e placed after prev: Seq, Prev, PayloadHash and Hash set,
// Files sorted by name, Details in canonical form (or left as they were if
// they are not valid JSON: check Validate first) and At in UTC with no
// monotonic reading.
func Seal(prev Head, e Entry) Entry {
	e.Seq = prev.Seq + 1
	e.Prev = prev.Hash
	e.At = e.At.UTC().Round(0)
	if len(e.Files) == 0 {
		e.Files = nil
	} else {
		e.Files = slices.Clone(e.Files)
		slices.SortStableFunc(e.Files, func(x, y FileHash) int { return strings.Compare(x.Name, y.Name) })
	}
	if len(e.Details) == 0 {
		e.Details = nil
	} else if c, err := CanonicalJSON(e.Details); err == nil {
		e.Details = c
	}
	e.PayloadHash = e.ComputePayloadHash()
	e.Hash = e.ComputeHash()
	return e
}

// Verify checks a chain from its first entry, in order, and returns its
// head. At the first entry that is out of sequence, does not link to the
// entry before it, whose payload (when present) does not match its
// PayloadHash, or whose Hash is wrong, it returns a *BreakError (and the
// head of the sound part before it). An error from the sequence itself is
// returned wrapped.
func Verify(entries iter.Seq2[Entry, error]) (Head, error) {
	head := EmptyHead
	for e, err := range entries {
		if err != nil {
			return head, fmt.Errorf("verify audit log after entry %d: %w", head.Seq, err)
		}
		if e.Seq != head.Seq+1 {
			return head, &BreakError{Seq: e.Seq, Reason: fmt.Sprintf("sequence number %d follows %d (entries missing or out of order)", e.Seq, head.Seq)}
		}
		if e.Prev != head.Hash {
			return head, &BreakError{Seq: e.Seq, Reason: fmt.Sprintf("prev %s is not the hash of the entry before (%s)", e.Prev, head.Hash)}
		}
		if e.HasPayload() {
			if got := e.ComputePayloadHash(); got != e.PayloadHash {
				return head, &BreakError{Seq: e.Seq, Reason: fmt.Sprintf("payload hashes to %s, recorded %s", got, e.PayloadHash)}
			}
		}
		if got := e.ComputeHash(); got != e.Hash {
			return head, &BreakError{Seq: e.Seq, Reason: fmt.Sprintf("entry hashes to %s, recorded %s", got, e.Hash)}
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	return head, nil
}
