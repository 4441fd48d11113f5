package site

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/candour/candour/publisher"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Request bodies are streamed (fasthttp's StreamRequestBody): the server
// reads at most 8 KiB of a body before the handlers run, and readBodies,
// the first middleware that looks at a body, decides what is read and how.
//
// Why: with bodies read by fasthttp, a multipart upload was parsed with
// fasthttp's fixed in-memory threshold of 16 MiB a file part, so a large
// submission held 16 MiB of itself in memory. Streamed, the multipart
// reader keeps 8 KiB of file parts in memory and spools the rest of each
// to a temporary file as it arrives, so an upload of any size holds a few
// tens of KiB of itself.
//
// What streaming must not change, and how readBodies keeps it:
//
//   - The limits (limits.go). fasthttp no longer answers 413 for a body
//     over its limit, so readBodies does: a Content-Length over the
//     request's limit is refused before a byte of the body is read, and a
//     chunked body is counted as it is read and refused as soon as it
//     passes the limit.
//   - Every other handler sees its body in memory as before: a body that
//     is not a signed-in upload is read here, up to formBodyBytes.
//   - An upload is read into its multipart form here, before the request
//     waits for a turn (shedLoad), so a slow client sending a large file
//     holds no turn while it sends. A chunked upload, whose length is not
//     known, is first spooled to a temporary file, counting its bytes.
//   - A connection never carries on past a body that was not read to its
//     end (the rest would be taken for the next request): such a request's
//     answer closes the connection.
//   - A compressed body is never read (refuseEncodedBodies answers 415).

// readBodies reads or spools the request's body, within its limit, before
// anything else reads it, as requestConfig decided from the headers.
func (s *Site) readBodies(c *fiber.Ctx) error {
	req := &c.Context().Request
	decision := string(req.Header.Peek(bodyHeader))
	req.Header.Del(bodyHeader)
	if !req.IsBodyStream() {
		return c.Next()
	}
	limit, upload, refused := parseBodyDecision(decision)
	if decision == "" { // not through requestConfig (a test's handler)
		limit, upload = s.bodyLimit(&req.Header, c.Path())
	}
	switch {
	case refused && encodedBody(&req.Header):
		c.Context().SetConnectionClose()
		return c.Next()
	case refused || req.Header.ContentLength() > limit:
		return bodyTooLarge(c, limit)
	case !upload:
		return s.readSmallBody(c, limit)
	}
	// The multipart reader may stop at the closing boundary before the
	// body's end; the connection is not used again.
	c.Context().SetConnectionClose()
	if req.Header.ContentLength() < 0 {
		spool, err := spoolChunked(req, limit)
		if spool != "" {
			defer os.Remove(spool)
		}
		switch {
		case errors.Is(err, errBodyTooLarge):
			return bodyTooLarge(c, limit)
		case err != nil:
			return &userError{status: http.StatusBadRequest, message: "The request body could not be read to its end: " + err.Error()}
		}
	}
	// Parse the form now; a form that does not parse is the handler's to
	// refuse (it asks for the form again and gets the same error).
	_, _ = c.MultipartForm()
	return c.Next()
}

// bodyHeader carries requestConfig's decision about a request's body to
// readBodies: "L" (read up to L bytes), "upload L" (a signed-in upload of
// up to L bytes), "refused L" (over the limit L, not read) or "refused"
// (compressed, not read). requestConfig removes any a client sends, and
// readBodies removes it before the handlers see the headers.
const (
	bodyHeader  = "X-Candour-Body"
	bodyRefused = "refused"
)

func bodyDecision(limit int, upload bool) string {
	if upload {
		return "upload " + strconv.Itoa(limit)
	}
	return strconv.Itoa(limit)
}

func bodyTooLargeFor(limit int) string { return bodyRefused + " " + strconv.Itoa(limit) }

// parseBodyDecision reads bodyHeader's value; an empty or unreadable one
// gives the form limit.
func parseBodyDecision(v string) (limit int, upload, refused bool) {
	word, number, found := strings.Cut(v, " ")
	if !found && word != bodyRefused {
		word, number = "", word
	}
	upload, refused = word == "upload", word == bodyRefused
	limit, err := strconv.Atoi(number)
	if err != nil || limit <= 0 {
		limit = formBodyBytes
	}
	return limit, upload, refused
}

// bodyLimit is the most a request's body may hold, and whether the
// request is a signed-in upload (a multipart POST to an upload route by
// someone who has proved who they are), whose limit is --max-upload.
func (s *Site) bodyLimit(h *fasthttp.RequestHeader, path string) (int, bool) {
	if proves, ok := uploadRoute(path); ok && h.IsPost() && isMultipart(h) && proves(s, h) {
		return int(s.cfg.MaxUploadBytes + multipartOverhead), true
	}
	return formBodyBytes, false
}

// readSmallBody reads a body that is not an upload into memory, up to
// limit bytes, where every handler finds it.
func (s *Site) readSmallBody(c *fiber.Ctx, limit int) error {
	req := &c.Context().Request
	body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(limit)+1))
	switch {
	case len(body) > limit:
		return bodyTooLarge(c, limit)
	case err != nil:
		c.Context().SetConnectionClose()
		return &userError{status: http.StatusBadRequest, message: "The request body could not be read to its end: " + err.Error()}
	}
	req.SetBodyRaw(body)
	return c.Next()
}

var errBodyTooLarge = errors.New("the body is over its limit")

// spoolChunked copies a chunked body, counting it, to a temporary file
// that becomes the request's body, and returns the file's path (to be
// removed after the request) or errBodyTooLarge once it passes limit.
func spoolChunked(req *fasthttp.Request, limit int) (string, error) {
	f, err := os.CreateTemp("", "candour-body-")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(req.BodyStream(), int64(limit)+1))
	switch {
	case err == nil && n > int64(limit):
		err = errBodyTooLarge
	case err == nil:
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return f.Name(), err
	}
	req.SetBodyStream(f, int(n)) // closed by fasthttp once read
	return f.Name(), nil
}

// bodyTooLarge answers 413, closing the connection rather than reading
// the rest of the body.
func bodyTooLarge(c *fiber.Ctx, limit int) error {
	c.Context().SetConnectionClose()
	return &userError{status: http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("The request body is larger than this address accepts (%s).", publisher.ByteSize(int64(limit)))}
}

// encodedBody reports whether the body has a Content-Encoding other than
// identity.
func encodedBody(h *fasthttp.RequestHeader) bool {
	ce := strings.TrimSpace(string(h.Peek(fiber.HeaderContentEncoding)))
	return ce != "" && !strings.EqualFold(ce, "identity")
}

// isMultipart reports whether the body is multipart/form-data with a
// boundary.
func isMultipart(h *fasthttp.RequestHeader) bool { return len(h.MultipartFormBoundary()) > 0 }
