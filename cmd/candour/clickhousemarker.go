package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/candour/candour/datasets/clickhousedb"
)

// The data folder's ClickHouse marker: clickhouse.json, written when the
// folder's rows, observations and audit outcomes move to ClickHouse (by a
// publishing node started with --clickhouse, and by a completed
// migrate-to-clickhouse). Once it is there, the folder's own database no
// longer holds the figures, or holds copies as of the migration, so:
//
//   - a command that opens the folder without --clickhouse is refused,
//     naming the flag: served, it would show stale figures or none, and
//     publish new releases where the site no longer reads them;
//   - a backup without --clickhouse is refused, rather than made of those
//     copies (the rows-held check alone missed a migrated folder, whose
//     database keeps its copies);
//   - a backup with --clickhouse copies the figures into the backup's
//     database and leaves the marker out, so the restored folder is the
//     embedded deployment it then is.
const clickHouseMarkerFile = "clickhouse.json"

// clickHouseMarker is clickhouse.json's content.
type clickHouseMarker struct {
	Servers string `json:"servers"` // the DSNs, without passwords
	Cluster string `json:"cluster,omitempty"`
	Since   string `json:"since"` // when the folder first moved
	Note    string `json:"note"`
}

const clickHouseMarkerNote = "this folder's rows, observations and audit outcomes are on ClickHouse: run candour with --clickhouse (or CANDOUR_CLICKHOUSE_DSN); a backup made with --clickhouse restores as an embedded deployment"

// markOnClickHouse records that the folder's figures are on the servers
// dsns names, keeping the first instant it was recorded.
func markOnClickHouse(dataDir, dsns, cluster string, now time.Time) error {
	m := clickHouseMarker{Since: now.UTC().Format(time.RFC3339), Note: clickHouseMarkerNote}
	var redacted []string
	for _, dsn := range strings.Split(dsns, ",") {
		redacted = append(redacted, clickhousedb.Redacted(dsn))
	}
	if len(redacted) > 1 {
		m.Cluster = cluster // one server is no cluster, whatever the flag's default
	}
	m.Servers = strings.Join(redacted, ",")
	if old, err := readClickHouseMarker(dataDir); err == nil && old != nil && old.Since != "" {
		if old.Servers == m.Servers && old.Cluster == m.Cluster {
			return nil
		}
		m.Since = old.Since
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, clickHouseMarkerFile+".tmp")
	os.Remove(tmp)
	if err := writeSynced(tmp, append(raw, '\n')); err != nil {
		return fmt.Errorf("record that %s is on ClickHouse: %w", dataDir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, clickHouseMarkerFile)); err != nil {
		return fmt.Errorf("record that %s is on ClickHouse: %w", dataDir, err)
	}
	return nil
}

// readClickHouseMarker reads the folder's marker; nil when there is none.
// An unreadable marker is an error, never taken as none.
func readClickHouseMarker(dataDir string) (*clickHouseMarker, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, clickHouseMarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m clickHouseMarker
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataDir, clickHouseMarkerFile), err)
	}
	return &m, nil
}

// refuseWithoutClickHouse is the error for opening a marked folder
// without --clickhouse (what names the command), nil for an unmarked one.
func refuseWithoutClickHouse(dataDir, what string) error {
	m, err := readClickHouseMarker(dataDir)
	if err != nil || m == nil {
		return err
	}
	cluster := ""
	if m.Cluster != "" {
		cluster = " and --clickhouse-cluster " + m.Cluster
	}
	return fmt.Errorf("%s: the data folder %s keeps its rows, observations and audit outcomes on ClickHouse (%s, since %s; %s says so): give --clickhouse (or CANDOUR_CLICKHOUSE_DSN)%s as the server has it",
		what, dataDir, m.Servers, m.Since, clickHouseMarkerFile, cluster)
}
