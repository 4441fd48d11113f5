package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/candour/candour/datasets/faultpoint"
)

// ErrBlobNotFound is returned for a blob the store does not hold, and for
// a name that cannot be a blob's (not 64 lower-case hex digits).
var ErrBlobNotFound = errors.New("blob not found")

// Blob identifies stored content.
type Blob struct {
	SHA256 string // lower-case hex
	Bytes  int64
}

// BlobStore keeps files named by the SHA-256 of their content, in
// dir/<first two hex digits>/<64 hex digits>. Files are written to dir/tmp,
// synced and renamed into place, and the folders synced after the rename,
// so a blob is either whole or absent, and stays once Put has returned. A
// crash can leave a temporary file, or a blob whose release was never
// recorded; Sweep removes both at start-up.
type BlobStore struct {
	dir string
}

// OpenBlobStore opens the store in dir, creating dir and dir/tmp.
func OpenBlobStore(dir string) (*BlobStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return &BlobStore{dir: dir}, nil
}

// blobWriteSize is the size of the writes Put makes: the buffer is
// filled from the reader (an upload's body gives a few kilobytes a read)
// before each write. The page cache keeps a newly written file in pieces
// of the size it was written in, and sendfile from a file written 64 KiB
// at a time ran 4–5 % slower than from the same bytes written 256 KiB,
// 512 KiB or 1 MiB at a time, which ran alike (nginx serving each, 200 MB,
// loopback): a release file is usually downloaded from the pages Put
// left in memory.
const blobWriteSize = 256 << 10

// Put stores the content of r and returns its hash and size. Storing
// content that is already there changes nothing. Put checks ctx between
// reads, and leaves no temporary file behind when it fails.
func (s *BlobStore) Put(ctx context.Context, r io.Reader) (blob Blob, err error) {
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if err != nil {
			os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	n, err := copyInWholeWrites(ctx, io.MultiWriter(tmp, h), r)
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	faultpoint.Hit("blob.synced")

	blob = Blob{SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}
	final := s.path(blob.SHA256)
	if fi, statErr := os.Stat(final); statErr == nil {
		if fi.Size() != n {
			return Blob{}, fmt.Errorf("put blob %s: stored file has %d bytes, the content %d", blob.SHA256, fi.Size(), n)
		}
		if err := os.Remove(tmpName); err != nil {
			return Blob{}, fmt.Errorf("put blob: %w", err)
		}
		// The file may be there only because an earlier Put renamed it and
		// died before syncing its folder: sync it now, so that a blob Put
		// reports stored survives a power cut.
		if err := syncDir(filepath.Dir(final)); err != nil {
			return Blob{}, fmt.Errorf("put blob: %w", err)
		}
		return blob, nil
	}
	sub := filepath.Dir(final)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	faultpoint.Hit("blob.before-rename")
	if err := os.Rename(tmpName, final); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	faultpoint.Hit("blob.renamed")
	// The content is in place; from here a failure to sync is reported but
	// the file stays.
	if err := syncDir(sub); err != nil {
		return blob, fmt.Errorf("put blob: %w", err)
	}
	if err := syncDir(filepath.Join(s.dir, "tmp")); err != nil {
		return blob, fmt.Errorf("put blob: %w", err)
	}
	faultpoint.Hit("blob.dir-synced")
	return blob, nil
}

// copyInWholeWrites copies r to w in writes of blobWriteSize bytes (the
// last one shorter), checking ctx before each read.
func copyInWholeWrites(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, blobWriteSize)
	var n int64
	filled := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf[filled:])
		filled += m
		ended := rerr == io.EOF
		if rerr != nil && !ended {
			return n, fmt.Errorf("read: %w", rerr)
		}
		if filled == len(buf) || ended && filled > 0 {
			if _, err := w.Write(buf[:filled]); err != nil {
				return n, err
			}
			n += int64(filled)
			filled = 0
		}
		if ended {
			return n, nil
		}
	}
}

// Open opens the blob with the given hash for reading. The caller closes
// the file.
func (s *BlobStore) Open(ctx context.Context, sha256 string) (*os.File, Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, Blob{}, fmt.Errorf("open blob: %w", err)
	}
	if err := checkBlobName(sha256); err != nil {
		return nil, Blob{}, err
	}
	f, err := os.Open(s.path(sha256))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Blob{}, fmt.Errorf("open blob %s: %w", sha256, ErrBlobNotFound)
	}
	if err != nil {
		return nil, Blob{}, fmt.Errorf("open blob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Blob{}, fmt.Errorf("open blob: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Blob{}, fmt.Errorf("open blob %s: not a regular file", sha256)
	}
	return f, Blob{SHA256: sha256, Bytes: fi.Size()}, nil
}

// Has reports whether the store holds the blob with the given hash.
func (s *BlobStore) Has(ctx context.Context, sha256 string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("has blob: %w", err)
	}
	if err := checkBlobName(sha256); err != nil {
		return false, err
	}
	fi, err := os.Stat(s.path(sha256))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("has blob: %w", err)
	}
	return fi.Mode().IsRegular(), nil
}

func (s *BlobStore) path(sum string) string {
	return filepath.Join(s.dir, sum[:2], sum)
}

// checkBlobName accepts exactly 64 lower-case hex digits, so that no name
// can reach outside the store.
func checkBlobName(name string) error {
	ok := len(name) == 2*sha256.Size
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = ('0' <= c && c <= '9') || ('a' <= c && c <= 'f')
	}
	if !ok {
		return fmt.Errorf("blob %s is not a SHA-256 (64 lower-case hex digits): %w", quote(name), ErrBlobNotFound)
	}
	return nil
}

// Swept is what Sweep removed.
type Swept struct {
	Blobs     []Blob // stored blobs no one keeps
	Temporary int    // temporary files of puts that never finished
}

// Sweep removes every stored blob for which keep returns false, and every
// temporary file left in dir/tmp by a Put that never finished (a crash),
// syncing each folder it changed. Files that are not the store's (names
// that are not a blob's) are left alone.
//
// Sweep must run only while nothing else uses the store: a running
// submission's blob is unreferenced between its Put and the commit of its
// release record, and Sweep would remove it. Candour sweeps at start-up,
// holding the data folder alone.
func (s *BlobStore) Sweep(ctx context.Context, keep func(sha256 string) bool) (Swept, error) {
	var out Swept
	tmpDir := filepath.Join(s.dir, "tmp")
	temps, err := os.ReadDir(tmpDir)
	if err != nil {
		return out, fmt.Errorf("sweep blobs: %w", err)
	}
	for _, e := range temps {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "put-") {
			continue
		}
		if err := os.Remove(filepath.Join(tmpDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return out, fmt.Errorf("sweep blobs: %w", err)
		}
		out.Temporary++
	}
	if out.Temporary > 0 {
		if err := syncDir(tmpDir); err != nil {
			return out, fmt.Errorf("sweep blobs: %w", err)
		}
	}
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return out, fmt.Errorf("sweep blobs: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		dir := filepath.Join(s.dir, sub.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return out, fmt.Errorf("sweep blobs: %w", err)
		}
		changed := false
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("sweep blobs: %w", err)
			}
			name := f.Name()
			if !f.Type().IsRegular() || checkBlobName(name) != nil || name[:2] != sub.Name() || keep(name) {
				continue
			}
			info, err := f.Info()
			if err != nil {
				return out, fmt.Errorf("sweep blobs: %w", err)
			}
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, fmt.Errorf("sweep blobs: %w", err)
			}
			out.Blobs = append(out.Blobs, Blob{SHA256: name, Bytes: info.Size()})
			changed = true
		}
		if changed {
			if err := syncDir(dir); err != nil {
				return out, fmt.Errorf("sweep blobs: %w", err)
			}
		}
	}
	return out, nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
