package datasets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func openStore(t *testing.T) (*BlobStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := OpenBlobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func assertTmpEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("tmp holds %d files, want none", len(entries))
	}
}

func TestBlobPutOpen(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("code,name\r\nA81001,Surgery\r\n")},
		{"larger than the copy buffer", bytes.Repeat([]byte("0123456789abcdef"), 20_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := openStore(t)
			ctx := context.Background()
			blob, err := s.Put(ctx, iotest.HalfReader(bytes.NewReader(tt.content)))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.content)
			want := Blob{SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(tt.content))}
			if blob != want {
				t.Errorf("Put: got %+v, want %+v", blob, want)
			}
			if _, err := os.Stat(filepath.Join(dir, want.SHA256[:2], want.SHA256)); err != nil {
				t.Errorf("blob not at dir/<2 hex>/<64 hex>: %v", err)
			}
			has, err := s.Has(ctx, want.SHA256)
			if err != nil || !has {
				t.Errorf("Has: got %v, %v, want true", has, err)
			}
			f, got, err := s.Open(ctx, want.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got != want {
				t.Errorf("Open: got %+v, want %+v", got, want)
			}
			data, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, tt.content) {
				t.Errorf("Open: read %d bytes, not the content put", len(data))
			}
			assertTmpEmpty(t, dir)
		})
	}
}

func TestBlobPutIdempotent(t *testing.T) {
	s, dir := openStore(t)
	ctx := context.Background()
	content := "the same bytes twice"
	first, err := s.Put(ctx, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Put(ctx, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("second Put: got %+v, want %+v", second, first)
	}
	entries, err := os.ReadDir(filepath.Join(dir, first.SHA256[:2]))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("got %d files for one content, want 1", len(entries))
	}
	assertTmpEmpty(t, dir)
}

var errBroken = errors.New("connection reset")

// cancellingReader cancels its context after the first read, and ends
// after ten.
type cancellingReader struct {
	cancel context.CancelFunc
	reads  int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == 1 {
		c.cancel()
	}
	if c.reads > 10 {
		return 0, io.EOF
	}
	return copy(p, "some bytes"), nil
}

func TestBlobPutFailureLeavesNothing(t *testing.T) {
	t.Run("reader error", func(t *testing.T) {
		s, dir := openStore(t)
		r := io.MultiReader(strings.NewReader(strings.Repeat("x", 100_000)), iotest.ErrReader(errBroken))
		_, err := s.Put(context.Background(), r)
		if !errors.Is(err, errBroken) {
			t.Errorf("got %v, want the reader's error", err)
		}
		assertTmpEmpty(t, dir)
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("store holds %d entries, want only tmp", len(entries))
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		s, dir := openStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Put(ctx, strings.NewReader("x"))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		assertTmpEmpty(t, dir)
	})
	t.Run("cancelled between reads", func(t *testing.T) {
		s, dir := openStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cr := &cancellingReader{cancel: cancel}
		_, err := s.Put(ctx, cr)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if cr.reads != 1 {
			t.Errorf("got %d reads, want Put to stop after the read that cancelled", cr.reads)
		}
		assertTmpEmpty(t, dir)
	})
}

func TestBlobRejectsBadNames(t *testing.T) {
	s, dir := openStore(t)
	ctx := context.Background()
	blob, err := s.Put(ctx, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	// A file outside the store that a path trick might reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "x"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hash string
	}{
		{"parent directory", "../x"},
		{"empty", ""},
		{"short", blob.SHA256[:63]},
		{"long", blob.SHA256 + "0"},
		{"upper case", strings.ToUpper(blob.SHA256)},
		{"with a prefix directory", blob.SHA256[:2] + "/" + blob.SHA256[:61]},
		{"path of 64 characters", "../" + strings.Repeat("a", 61)},
		{"not hex", strings.Repeat("g", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := s.Open(ctx, tt.hash)
			if f != nil {
				f.Close()
				t.Fatal("Open returned a file")
			}
			if !errors.Is(err, ErrBlobNotFound) || !strings.Contains(err.Error(), "not a SHA-256") {
				t.Errorf("Open: got %v, want a not-a-SHA-256 error wrapping ErrBlobNotFound", err)
			}
			if has, err := s.Has(ctx, tt.hash); has || err == nil {
				t.Errorf("Has: got %v, %v, want false and an error", has, err)
			}
		})
	}
}

func TestBlobNotFound(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	absent := strings.Repeat("ab", 32)
	if _, _, err := s.Open(ctx, absent); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("Open: got %v, want ErrBlobNotFound", err)
	}
	if has, err := s.Has(ctx, absent); has || err != nil {
		t.Errorf("Has: got %v, %v, want false, nil", has, err)
	}
}

func TestBlobSweepRemovesWhatNoOneKeeps(t *testing.T) {
	s, dir := openStore(t)
	ctx := context.Background()
	kept, err := s.Put(ctx, strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := s.Put(ctx, strings.NewReader("dropped"))
	if err != nil {
		t.Fatal(err)
	}
	// A put that died, and a file that is not the store's.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-42"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	stranger := filepath.Join(dir, kept.SHA256[:2], "notes.txt")
	if err := os.WriteFile(stranger, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	swept, err := s.Sweep(ctx, func(sum string) bool { return sum == kept.SHA256 })
	if err != nil {
		t.Fatal(err)
	}
	if len(swept.Blobs) != 1 || swept.Blobs[0] != dropped || swept.Temporary != 1 {
		t.Errorf("swept %+v, want %+v and one temporary file", swept, dropped)
	}
	for sum, want := range map[string]bool{kept.SHA256: true, dropped.SHA256: false} {
		if got, err := s.Has(ctx, sum); err != nil || got != want {
			t.Errorf("Has(%s) = %v (err %v), want %v", sum[:8], got, err, want)
		}
	}
	assertTmpEmpty(t, dir)
	if _, err := os.Stat(stranger); err != nil {
		t.Errorf("a file that is not a blob was removed: %v", err)
	}
}

// writeSizes records the size of every write.
type writeSizes []int

func (w *writeSizes) Write(p []byte) (int, error) {
	*w = append(*w, len(p))
	return len(p), nil
}

func TestPutWritesWholePieces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes int
		want  []int
	}{
		{"empty", 0, nil},
		{"short", 10, []int{10}},
		{"exactly one piece", blobWriteSize, []int{blobWriteSize}},
		{"two and a half pieces", 2*blobWriteSize + blobWriteSize/2, []int{blobWriteSize, blobWriteSize, blobWriteSize / 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := bytes.Repeat([]byte("x"), tc.bytes)
			// An upload's body gives a few kilobytes a read.
			r := iotest.HalfReader(&chunkedReader{r: bytes.NewReader(content), chunk: 4096})
			var sizes writeSizes
			n, err := copyInWholeWrites(context.Background(), &sizes, r)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(tc.bytes) {
				t.Errorf("copied %d bytes, want %d", n, tc.bytes)
			}
			if !slices.Equal(sizes, tc.want) {
				t.Errorf("writes of %v bytes, want %v", []int(sizes), tc.want)
			}
		})
	}
}

// chunkedReader gives at most chunk bytes a read.
type chunkedReader struct {
	r     io.Reader
	chunk int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.chunk)])
}
