package site

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// static holds Candour's own CSS and scripts; thirdparty holds files the
// build copies from npm packages (see the Makefile's assets target). The
// thirdparty folder is in git with only a README, so the program builds on
// a fresh clone.
//
//go:embed static
var static embed.FS

//go:embed all:thirdparty
var thirdparty embed.FS

// requiredThirdParty are the npm files pages link to.
var requiredThirdParty = []string{
	"nhsuk/nhsuk-frontend.min.css",
	"nhsuk/nhsuk-frontend.min.js",
	"nhsuk/images/favicon.ico",
	"nhsuk/images/favicon.svg",
	"echarts/echarts.min.js",
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type assetSet struct {
	byPath map[string]asset // URL path → asset
}

// loadAssets reads every embedded asset once, returning the required
// third-party files that are missing.
func loadAssets() (*assetSet, []string, error) {
	set := &assetSet{byPath: map[string]asset{}}
	add := func(fsys fs.FS, root, urlPrefix string, transform func(string, []byte) []byte) error {
		return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil && p == root && errors.Is(err, fs.ErrNotExist) {
				return nil // not copied from npm: reported as missing below
			}
			if err != nil || d.IsDir() || strings.HasSuffix(p, "README.md") {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			if transform != nil {
				b = transform(p, b)
			}
			sum := sha256.Sum256(b)
			ct := mime.TypeByExtension(path.Ext(p))
			if ct == "" {
				ct = "application/octet-stream"
			}
			set.byPath[urlPrefix+strings.TrimPrefix(p, root+"/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
	}
	if err := add(static, "static", "/static/", nil); err != nil {
		return nil, nil, err
	}
	if err := add(thirdparty, "thirdparty/nhsuk", "/assets/", stripRemoteFonts); err != nil {
		return nil, nil, err
	}
	if err := add(thirdparty, "thirdparty/echarts", "/assets/echarts/", nil); err != nil {
		return nil, nil, err
	}
	if fav, ok := set.byPath["/assets/images/favicon.ico"]; ok {
		set.byPath["/favicon.ico"] = fav
	}
	var missing []string
	for _, f := range requiredThirdParty {
		if _, ok := set.byPath["/assets/"+strings.TrimPrefix(f, "nhsuk/")]; !ok {
			missing = append(missing, "site/thirdparty/"+f)
		}
	}
	return set, missing, nil
}

// remoteFontFace matches @font-face rules that load fonts from another
// origin. The NHS frontend's CSS points at assets.nhs.uk; Candour serves no
// external fonts (the CSP would block them anyway), so the rules are
// dropped and the font stack falls back to Arial.
var remoteFontFace = regexp.MustCompile(`@font-face\{[^}]*url\(https?://[^}]*\}`)

func stripRemoteFonts(p string, b []byte) []byte {
	if path.Ext(p) != ".css" {
		return b
	}
	return remoteFontFace.ReplaceAll(b, nil)
}

// asset serves an embedded file with a validator and a short cache life.
func (s *Site) asset(c *fiber.Ctx) error {
	a, ok := s.assets.byPath[c.Path()]
	if !ok {
		return errNotFound
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	// Weak: the same tag covers the compressed and identity bodies.
	c.Set(fiber.HeaderETag, "W/"+a.etag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), a.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(a.body)
}
