package site

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A download body sends exactly its part of the file, whether it goes by
// sendfile on a TCP connection or by the ordinary copy.
func TestFileBodySendsItsPart(t *testing.T) {
	content := make([]byte, 5<<20+321)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.IntN(256))
	}
	path := filepath.Join(t.TempDir(), "release.csv")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		start, length int64
	}{
		{"whole file", 0, int64(len(content))},
		{"a range in the middle, over several sendfile steps", 1234, 3<<20 + 7},
		{"the last ten bytes", int64(len(content)) - 10, 10},
		{"nothing", 0, 0},
	}
	for _, tc := range cases {
		want := content[tc.start : tc.start+tc.length]
		t.Run(tc.name+" over TCP", func(t *testing.T) {
			got, err := sendOverTCP(t, path, tc.start, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("headers\n"), want...)) {
				t.Fatalf("received %d bytes, want the headers and %d bytes of the file from %d", len(got), len(want), tc.start)
			}
		})
		t.Run(tc.name+" by copy", func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			body := newFileBody(f, tc.start, tc.length, nil)
			defer body.Close()
			if _, err := body.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("copied %d bytes, want %d from %d", buf.Len(), len(want), tc.start)
			}
		})
	}
}

// A file shorter than its recorded size ends the body with an error
// rather than hanging or sending a short body as if it were whole.
func TestFileBodyShortFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.csv")
	if err := os.WriteFile(path, bytes.Repeat([]byte("a,1\n"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	// On Linux the TCP case goes by sendfile, whose error this is.
	wantOverTCP := io.ErrUnexpectedEOF
	if runtime.GOOS == "linux" {
		wantOverTCP = errShortFile
	}
	if _, err := sendOverTCP(t, path, 0, 10_000); !errors.Is(err, wantOverTCP) {
		t.Fatalf("sending 10,000 bytes of a 4,000-byte file: error %v, want %v", err, wantOverTCP)
	}
	f, _ := os.Open(path)
	body := newFileBody(f, 0, 10_000, nil)
	defer body.Close()
	if _, err := body.WriteTo(io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("copying: error %v, want io.ErrUnexpectedEOF", err)
	}
}

// sendOverTCP writes "headers\n" into a buffered writer on the server side
// of a loopback connection, as fasthttp does, then the body's part of the
// file; it returns what the client received and the server's error.
func sendOverTCP(t *testing.T, path string, start, length int64) ([]byte, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer conn.Close()
		f, err := os.Open(path)
		if err != nil {
			sent <- err
			return
		}
		body := newFileBody(f, start, length, conn)
		defer body.Close()
		w := bufio.NewWriter(conn)
		w.WriteString("headers\n")
		if _, err := body.WriteTo(w); err != nil {
			sent <- err
			return
		}
		sent <- w.Flush()
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	got, readErr := io.ReadAll(client)
	if err := <-sent; err != nil {
		return got, err
	}
	return got, readErr
}
