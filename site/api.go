package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/disclosure"
)

// The submission API lets publishers upload programmatically with an API
// token. Requests and responses are JSON (uploads are multipart); errors
// carry the same row and column detail as the site's forms.

type apiProblem struct {
	File    string `json:"file,omitempty"`
	Row     int    `json:"row,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Value   string `json:"value,omitempty"`
	Offset  int64  `json:"offset,omitempty"`
	Message string `json:"message"`
}

// apiErrorBody is every API error, the read API's and the submission
// API's alike: {"error": {"code", "message"}}, with the submission API's
// problems (each naming its field, or its file, row and column) and
// disclosure findings inside the same object.
type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code       string               `json:"code"`
	Message    string               `json:"message"`
	Problems   []apiProblem         `json:"problems,omitempty"`
	Disclosure []disclosure.Finding `json:"disclosure,omitempty"`
}

// apiErrorCode is the code of an API error answered with status.
func apiErrorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad-request"
	case http.StatusUnauthorized:
		return "unauthorised"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusRequestEntityTooLarge:
		return "too-large"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusUnprocessableEntity:
		return "rejected"
	case http.StatusTooManyRequests:
		return "rate-limited"
	case http.StatusServiceUnavailable:
		return "busy"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

func apiError(c *fiber.Ctx, status int, msg string, problems []apiProblem) error {
	c.Status(status)
	return c.JSON(apiErrorBody{Error: apiErrorDetail{Code: apiErrorCode(status), Message: msg, Problems: problems}})
}

func rejectionBody(rej *publisher.Rejection) apiErrorBody {
	body := apiErrorBody{Error: apiErrorDetail{Code: apiErrorCode(http.StatusUnprocessableEntity),
		Message: "the submission was rejected; nothing was stored", Disclosure: rej.Disclosure}}
	for _, f := range rej.Fields {
		body.Error.Problems = append(body.Error.Problems, apiProblem{Field: f.Field, Message: f.Message})
	}
	for _, p := range rej.Files {
		ap := apiProblem{File: p.File, Row: p.Row, Column: p.Column, Field: p.Field, Value: p.Value, Message: p.Message}
		if p.Offset >= 0 {
			ap.Offset = p.Offset
		}
		body.Error.Problems = append(body.Error.Problems, ap)
	}
	return body
}

type apiRelease struct {
	ID       int64                  `json:"id"`
	Dataset  string                 `json:"dataset"`
	Version  int                    `json:"version"`
	Title    string                 `json:"title"`
	State    catalogue.ReleaseState `json:"state"`
	URL      string                 `json:"url"`
	Files    []apiFile              `json:"files"`
	Warnings []string               `json:"warnings,omitempty"`
	Summary  string                 `json:"disclosure_summary,omitempty"`
	// Submission is where the full disclosure report is read.
	Submission string `json:"submission"`
}

// apiSubmissionBody is a submission with its disclosure-control report:
// every finding, each suppressed cell's feasible interval and the method
// that proved it, and the extra suppressions Candour chose.
type apiSubmissionBody struct {
	apiRelease
	Disclosure json.RawMessage `json:"disclosure"`
}

// apiCheckBody answers a check-only submission: what a submission would
// report, with nothing stored.
type apiCheckBody struct {
	Stored     bool            `json:"stored"`
	Warnings   []string        `json:"warnings,omitempty"`
	Summary    string          `json:"disclosure_summary,omitempty"`
	Disclosure json.RawMessage `json:"disclosure"`
}

type apiFile struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"rows"`
}

func toAPIRelease(r catalogue.Release) apiRelease {
	out := apiRelease{ID: r.ID, Dataset: r.Dataset.Slug, Version: r.Version, Title: r.Title, State: r.State,
		URL: fmt.Sprintf("/workspace/releases/%d", r.ID), Summary: r.DisclosureSummary,
		Submission: fmt.Sprintf("/api/v1/submissions/%d", r.ID)}
	for _, f := range r.Files {
		if f.Role == catalogue.RolePublic {
			out.Files = append(out.Files, apiFile{Name: f.Name, Role: string(f.Role), SHA256: f.SHA256, Bytes: f.Bytes, Rows: f.Rows})
		}
	}
	return out
}

// apiSubmit takes a multipart upload: a part "descriptor" holding a
// submission descriptor (JSON with "dataset", "release" and "resources",
// as `candour import release` reads) and one part per resource, named by
// the resource's path.
func (s *Site) apiSubmit(c *fiber.Ctx) error {
	form, err := c.MultipartForm()
	if err != nil {
		return apiError(c, http.StatusBadRequest, "the request must be multipart/form-data with a descriptor part and one part per file", nil)
	}
	dir, err := os.MkdirTemp("", "candour-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	descriptors := form.File["descriptor"]
	if len(descriptors) != 1 {
		return apiError(c, http.StatusBadRequest, "send exactly one part named descriptor (the submission descriptor, JSON)", nil)
	}
	if err := c.SaveFile(descriptors[0], filepath.Join(dir, "submission.json")); err != nil {
		return err
	}
	for name, headers := range form.File {
		if name == "descriptor" {
			continue
		}
		rel, ok := partPath(name)
		if !ok || len(headers) != 1 {
			return apiError(c, http.StatusBadRequest, fmt.Sprintf("part %q: name each file part once, by the path the descriptor gives it "+
				"(such as admissions.csv or data/admissions.csv): up to %d folders deep, each folder and file name made of letters, digits, dots, hyphens and underscores", name, maxPartFolders), nil)
		}
		target := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return err
		}
		if err := c.SaveFile(headers[0], target); err != nil {
			return err
		}
	}
	sub, err := publisher.ReadSubmission(os.DirFS(dir), "submission.json")
	if err != nil {
		return apiError(c, http.StatusBadRequest, "descriptor: "+err.Error(), nil)
	}
	ctx, actor := c.UserContext(), session(c).Actor
	var out publisher.Outcome
	var checked publisher.CheckOutcome
	switch c.Query("check") {
	case "":
		out, err = s.deps.Publisher.Submit(ctx, actor, sub, nil)
	case "only":
		checked, err = s.deps.Publisher.Check(ctx, actor, sub, nil)
	default:
		return apiError(c, http.StatusBadRequest, fmt.Sprintf("check=%q: the only value is \"only\" (check without storing anything); leave it out to submit", c.Query("check")), nil)
	}
	var rej *publisher.Rejection
	if errors.As(err, &rej) {
		c.Status(http.StatusUnprocessableEntity)
		return c.JSON(rejectionBody(rej))
	}
	if err != nil {
		return err
	}
	if c.Query("check") == "only" {
		return c.JSON(apiCheckBody{Stored: false, Warnings: checked.Warnings, Summary: checked.Summary, Disclosure: snakeKeys(checked.Report)})
	}
	body := toAPIRelease(out.Release)
	body.Warnings = out.Warnings
	c.Status(http.StatusCreated)
	c.Location(body.URL)
	return c.JSON(body)
}

// maxPartFolders is how many folders deep an upload part's path may be.
const maxPartFolders = 4

// partPath turns an upload part's name — a resource's path as its
// descriptor gives it, "admissions.csv" or "data/admissions.csv" as in the
// bundled descriptors — into a path below the upload's folder, or false
// when it could climb out of it or names something unsafe.
func partPath(name string) (string, bool) {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name {
		return "", false
	}
	segments := strings.Split(name, "/")
	if len(segments) > maxPartFolders+1 {
		return "", false
	}
	for _, seg := range segments {
		if !catalogue.ValidFileName(seg) {
			return "", false
		}
	}
	return filepath.FromSlash(name), true
}

// apiRelease returns a release's state to someone entitled to see it.
func (s *Site) apiReleaseStatus(c *fiber.Ctx) error {
	d, err := s.apiDetail(c)
	if err != nil {
		return err
	}
	return c.JSON(toAPIRelease(d.Release))
}

// apiSubmission returns a release with its disclosure report, to the
// publisher and reviewers who may see the release in the workspace.
func (s *Site) apiSubmission(c *fiber.Ctx) error {
	d, err := s.apiDetail(c)
	if err != nil {
		return err
	}
	body := apiSubmissionBody{apiRelease: toAPIRelease(d.Release), Disclosure: json.RawMessage("null")}
	if len(d.Report) > 0 {
		body.Disclosure = snakeKeys(d.Report)
	}
	return c.JSON(body)
}

// apiDetail reads the release named in the path, as the token's holder
// may see it.
func (s *Site) apiDetail(c *fiber.Ctx) (publisher.Detail, error) {
	id, err := releaseID(c)
	if err != nil {
		return publisher.Detail{}, err
	}
	return s.deps.Publisher.Detail(c.UserContext(), session(c).Actor, id)
}

var _ = datasets.Problem{}

// snakeKeys rewrites the object keys of a JSON document in snake_case
// (cellsByMethod becomes cells_by_method), as every /api/v1 answer names
// its fields: the disclosure report is stored as the workspace reads it,
// and given to API clients in the API's convention. Values (a finding's
// field name, a method) are left alone; a document that does not parse
// is returned as it is.
func snakeKeys(raw json.RawMessage) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(snakeValue(v))
	if err != nil {
		return raw
	}
	return out
}

func snakeValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[snakeCase(k)] = snakeValue(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = snakeValue(e)
		}
		return x
	}
	return v
}

// snakeCase writes a camelCase name in snake_case.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
