package cataloguesqlite

import (
	"context"
	"fmt"

	"github.com/candour/candour/catalogue"
)

// FileHashes returns the SHA-256 of every file any release names (public
// and original, in every state), each with whether a release whose content
// is public names it. A backup uses it to check that it holds every blob
// the database it snapshotted refers to. It reads only columns every
// version of the schema has, so it works on a snapshot made by an older
// program.
func (s *Store) FileHashes(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.sha256, r.state FROM release_files f JOIN releases r ON r.id = f.release_id`)
	if err != nil {
		return nil, fmt.Errorf("file hashes: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var sum, state string
		if err := rows.Scan(&sum, &state); err != nil {
			return nil, fmt.Errorf("file hashes: %w", err)
		}
		out[sum] = out[sum] || catalogue.ReleaseState(state).ContentPublic()
	}
	return out, rows.Err()
}
