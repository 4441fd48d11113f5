package site

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
)

// Release files at immutable URLs. A file's bytes never change once its
// release is published, so:
//
//   - the identity encoding's ETag is the file's SHA-256 (the hash the
//     release page, the manifest and the audit log give); a gzip
//     response, compressed on the fly and deterministically, has its own
//     ETag ("<sha256>-gzip") and both say Vary: Accept-Encoding;
//   - ranges apply to the identity encoding only (a range request is never
//     compressed), with If-Range;
//   - Last-Modified is the publication instant; If-None-Match wins over
//     If-Modified-Since, as RFC 9110 says;
//   - the `latest` version redirects (302) to the newest published
//     version, so a link to it follows new releases.

// lastModified is when the file last changed: its release's publication.
func lastModified(r catalogue.Release) time.Time {
	return r.PublishedAt.UTC().Truncate(time.Second)
}

// etagMatches reports whether an If-None-Match or If-Range header names
// the tag (weak comparison for If-None-Match, as RFC 9110 specifies).
func etagMatches(header, tag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag {
			return true
		}
	}
	return false
}

// byteRange is a satisfiable single range of a file.
type byteRange struct{ start, length int64 }

// parseRange reads a Range header for a file of size bytes: ok false when
// it should be ignored (not bytes, several ranges, malformed: the whole
// file is sent), unsatisfiable true for a 416.
func parseRange(header string, size int64) (r byteRange, ok, unsatisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return r, false, false
	}
	if first == "" { // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, false, true
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return r, false, false
	}
	if start >= size {
		return r, false, true
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return r, false, false
		}
		end = min(e, size-1)
	}
	return byteRange{start, end - start + 1}, true, false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip
// (named, or by "*", with a quality above zero).
func acceptsGzip(header string) bool {
	accepted := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if coding == "gzip" {
			return q > 0
		}
		accepted = q > 0
	}
	return accepted
}

func (s *Site) download(c *fiber.Ctx) error {
	ctx := c.UserContext()
	slug := c.Params("slug")
	if c.Params("version") == "latest" {
		return s.latest(c, "/files/"+c.Params("name"))
	}
	version, err := parseVersion(c)
	if err != nil {
		return err
	}
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return errNotFound
	}
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(ctx, slug)
	if err != nil {
		return err
	}
	r, f, err := v.File(ctx, slug, version, name)
	if err != nil {
		return err
	}
	licence, _ := catalogue.LookupLicence(d.Licence)
	ctype := f.MediaType
	if ctype == "" {
		ctype = "text/csv"
	}
	tag := `"` + f.SHA256 + `"`
	gzipTag := `"` + f.SHA256 + `-gzip"`
	modified := lastModified(r)
	rangeHeader := c.Get(fiber.HeaderRange)
	compress := rangeHeader == "" && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding))
	if compress {
		tag = gzipTag
	}
	c.Set(fiber.HeaderContentType, ctype+"; charset="+f.Encoding)
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderETag, tag)
	if !compress {
		c.Set("Repr-Digest", reprDigest(f.SHA256))
	}
	c.Set(fiber.HeaderLastModified, modified.Format(http.TimeFormat))
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set("Access-Control-Allow-Origin", "*")
	if licence.URL != "" {
		c.Set("Link", "<"+licence.URL+`>; rel="license"`)
	}
	c.Set("X-Licence", licence.Title+". "+d.AttributionStatement())

	// Conditional requests: If-None-Match, else If-Modified-Since.
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" {
		if etagMatches(inm, tag) {
			return c.SendStatus(http.StatusNotModified)
		}
	} else if ims := c.Get(fiber.HeaderIfModifiedSince); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			return c.SendStatus(http.StatusNotModified)
		}
	}

	file, blob, err := s.deps.Blobs.Open(ctx, f.SHA256)
	if err != nil {
		return fmt.Errorf("open blob of %s version %d file %s: %w", slug, version, name, err)
	}
	size := blob.Bytes
	if rangeHeader != "" {
		// If-Range: the range only if the representation is the one the
		// client holds; otherwise the whole file.
		ifRange := c.Get(fiber.HeaderIfRange)
		useRange := ifRange == "" || etagMatches(ifRange, `"`+f.SHA256+`"`) && !strings.HasPrefix(ifRange, "W/")
		if ifRange != "" && !strings.HasPrefix(ifRange, `"`) && !strings.HasPrefix(ifRange, "W/") {
			t, err := http.ParseTime(ifRange)
			useRange = err == nil && !modified.After(t)
		}
		if rg, ok, unsatisfiable := parseRange(rangeHeader, size); useRange && unsatisfiable {
			file.Close()
			c.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
			return c.SendStatus(http.StatusRequestedRangeNotSatisfiable)
		} else if useRange && ok {
			c.Status(http.StatusPartialContent)
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", rg.start, rg.start+rg.length-1, size))
			return c.SendStream(newFileBody(file, rg.start, rg.length, c.Context().Conn()), int(rg.length))
		}
	}
	if compress {
		if digest, ok := s.gzipDigest(f.SHA256, file, size); ok {
			c.Set("Repr-Digest", digest)
		}
		c.Set(fiber.HeaderContentEncoding, "gzip")
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer file.Close()
			gz, _ := gzip.NewWriterLevel(w, gzip.DefaultCompression)
			if _, err := io.Copy(gz, file); err != nil {
				return // the client went away
			}
			gz.Close()
		})
		return nil
	}
	return c.SendStream(newFileBody(file, 0, size, c.Context().Conn()), int(size))
}

// Repr-Digest (RFC 9530) gives the SHA-256 of the representation sent:
// the file's own for the identity encoding (also on a range answer, where
// it is the whole file's), and the deterministic gzip output's for the
// gzip variant, worked out once per file and kept (up to
// gzipDigestLimit bytes of file; a larger file's gzip answer goes without,
// and its identity digest is the ETag and the manifest's hash).
const gzipDigestLimit = 64 << 20

// reprDigest writes a hex SHA-256 as a Repr-Digest field value.
func reprDigest(hexSHA string) string {
	sum, err := hex.DecodeString(hexSHA)
	if err != nil {
		return ""
	}
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":"
}

// gzipDigest is the Repr-Digest of a file's gzip variant, reading file
// (and seeking it back to the start) the first time.
func (s *Site) gzipDigest(sha string, file *os.File, size int64) (string, bool) {
	if d, ok := s.gzipDigests.Load(sha); ok {
		return d.(string), true
	}
	if size > gzipDigestLimit {
		return "", false
	}
	h := sha256.New()
	gz, _ := gzip.NewWriterLevel(h, gzip.DefaultCompression)
	if _, err := io.Copy(gz, file); err != nil {
		return "", false
	}
	gz.Close()
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return "", false
	}
	d := "sha-256=:" + base64.StdEncoding.EncodeToString(h.Sum(nil)) + ":"
	s.gzipDigests.Store(sha, d)
	return d, true
}

// latest redirects a release URL naming version "latest" to the newest
// published version.
func (s *Site) latest(c *fiber.Ctx, rest string) error {
	ctx := c.UserContext()
	v := s.deps.Catalogue.View()
	d, err := v.Dataset(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	rs, err := v.Releases(ctx, d.ID)
	if err != nil {
		return err
	}
	newest := 0
	for _, r := range rs {
		if r.State == catalogue.StatePublished && r.Version > newest {
			newest = r.Version
		}
	}
	if newest == 0 {
		return &userError{status: http.StatusNotFound, message: fmt.Sprintf("%s has no published release yet.", d.Title)}
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Redirect(fmt.Sprintf("/datasets/%s/releases/%d%s", d.Slug, newest, rest), http.StatusFound)
}

// manifestFile is one file of a release manifest.
type manifestFile struct {
	Name         string `json:"name"`
	URL          string `json:"url"`
	MediaType    string `json:"mediaType"`
	Encoding     string `json:"encoding"`
	Bytes        int64  `json:"bytes"`
	Rows         int64  `json:"rows"`
	SHA256       string `json:"sha256"`
	SchemaSHA256 string `json:"schemaSha256"`
}

type manifest struct {
	Dataset     string         `json:"dataset"`
	DatasetURL  string         `json:"datasetUrl"`
	Version     int            `json:"version"`
	Title       string         `json:"title"`
	Period      string         `json:"period,omitempty"`
	Published   string         `json:"published"`
	State       string         `json:"state"`
	Corrects    int            `json:"corrects,omitempty"`
	Licence     manifestLic    `json:"licence"`
	Attribution string         `json:"attribution"`
	Files       []manifestFile `json:"files"`
	// AuditChainHead is the audit log's chain head as of the release's
	// publication entry: keep it, and `candour audit verify --expect-head`
	// (or anyone replaying /transparency/audit-log.jsonl) can later show
	// the log was not cut short. Absent for releases published before
	// heads were recorded.
	AuditChainHead *manifestHead `json:"auditChainHead,omitempty"`
}

type manifestHead struct {
	Sequence int64  `json:"sequence"`
	Hash     string `json:"hash"`
}

type manifestLic struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// schemaHash is the SHA-256 of a file's Table Schema as Candour writes it
// (compact JSON, fields in order): two files with the same hash have the
// same columns, types and rules.
func schemaHash(resource json.RawMessage) (string, error) {
	var res datasets.Resource
	if err := json.Unmarshal(resource, &res); err != nil {
		return "", err
	}
	raw, err := json.Marshal(res.Schema)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

func (s *Site) releaseManifest(c *fiber.Ctx) error {
	if c.Params("version") == "latest" {
		return s.latest(c, "/manifest.json")
	}
	d, r, err := s.releaseOf(c)
	if err != nil {
		return err
	}
	licence, _ := catalogue.LookupLicence(d.Licence)
	m := manifest{Dataset: d.Slug, DatasetURL: "/datasets/" + d.Slug, Version: r.Version, Title: r.Title, Period: r.PeriodLabel,
		Published: r.PublishedAt.UTC().Format(time.RFC3339), State: string(r.State), Corrects: r.Corrects.Version,
		Licence: manifestLic{ID: licence.ID, Title: licence.Title, URL: licence.URL}, Attribution: d.AttributionStatement(), Files: []manifestFile{}}
	if h := r.AuditHead; !h.IsZero() {
		m.AuditChainHead = &manifestHead{Sequence: h.Seq, Hash: h.Hash}
	}
	for _, f := range r.Files {
		if f.Role != catalogue.RolePublic {
			continue
		}
		h, err := schemaHash(f.Resource)
		if err != nil {
			return fmt.Errorf("schema of %s: %w", f.Name, err)
		}
		mt := f.MediaType
		if mt == "" {
			mt = "text/csv"
		}
		m.Files = append(m.Files, manifestFile{Name: f.Name, URL: fileURL(d.Slug, r.Version, f.Name), MediaType: mt, Encoding: f.Encoding,
			Bytes: f.Bytes, Rows: f.Rows, SHA256: f.SHA256, SchemaSHA256: h})
	}
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(m)
}
