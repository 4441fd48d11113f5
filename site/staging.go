package site

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Staged uploads. When the submit form is refused — a problem in a file,
// a missing field, disclosure control — or used to check only, the files
// it carried stay on the server for an hour in a staging folder of the
// signed-in person's, named by a random id the form sends back; the form
// lists them as kept, so a publisher fixes a field without choosing every
// file again. A file chosen again replaces the kept one. The folder is
// removed when the submission is accepted, and any folder older than
// stagingTTL is swept at the next submission. Nothing staged is ever
// public or part of a release until it is submitted.

const stagingTTL = time.Hour

var stageIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func stagingRoot() string { return filepath.Join(os.TempDir(), "candour-staged") }

// openStage returns the staging folder the form names in its "staged"
// field when it is user's, or a new one.
func openStage(c *fiber.Ctx, user string) (id, dir string, err error) {
	sweepStages(time.Now())
	if id = c.FormValue("staged"); stageIDPattern.MatchString(id) {
		dir = filepath.Join(stagingRoot(), id)
		if owner, err := os.ReadFile(filepath.Join(dir, "owner")); err == nil && string(owner) == user {
			return id, dir, nil
		}
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	id = hex.EncodeToString(b)
	dir = filepath.Join(stagingRoot(), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	return id, dir, os.WriteFile(filepath.Join(dir, "owner"), []byte(user), 0o600)
}

// sweepStages removes staging folders older than stagingTTL.
func sweepStages(now time.Time) {
	entries, err := os.ReadDir(stagingRoot())
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !stageIDPattern.MatchString(e.Name()) {
			continue
		}
		if now.Sub(info.ModTime()) > stagingTTL {
			os.RemoveAll(filepath.Join(stagingRoot(), e.Name()))
		}
	}
}

// stagedDefinition is the path of a kept definitions file ("indicators"
// or "audit") in a staging folder.
func stagedDefinition(dir, field string) string { return filepath.Join(dir, field+".json") }

// readStaged reads a kept definitions file, or nil when there is none.
func readStaged(dir, field string) ([]byte, error) {
	raw, err := os.ReadFile(stagedDefinition(dir, field))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return raw, err
}
