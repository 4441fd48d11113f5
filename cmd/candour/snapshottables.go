package main

import (
	"github.com/candour/candour/catalogue/cataloguesqlite"
	"github.com/candour/candour/catalogue/feedback/feedbacksqlite"
	"github.com/candour/candour/cmd/candour/websubsqlite"
	"github.com/candour/candour/datasets/rowsqlite"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/indicators/audit/outcomesqlite"
	"github.com/candour/candour/indicators/observationsqlite"
	"github.com/candour/candour/publisher/accounts/accountsqlite"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/register/registersqlite"
	"github.com/candour/candour/publisher/workflowsqlite"
)

// The public snapshot's tables, decided in one place (snapshot.go writes
// the snapshot; TestSnapshotTablesDecided fails when a migration creates a
// table that is on neither list, so a new table forces a decision).
//
// Pruning is an allowlist: every table that is not in publicTables is
// dropped from the snapshot, whatever privateTables says, so a table nobody
// decided about is never shipped. The tables kept are reduced to what the
// published view showed at the snapshot's instant, by statements that read
// only the keep-sets snapshot.go computes beforehand through the same
// public code the site uses (catalogue.View and the publisher's public
// audit-log export), held in TEMP tables that never reach the file:
//
//	snap_listed          releases with a public page (published, superseded, withdrawn)
//	snap_content         releases whose content is public (published, superseded)
//	snap_listed_datasets datasets the public catalogue lists
//	snap_datasets        those, and datasets only an announced calendar entry names
//	snap_calendar        calendar entries announced by the snapshot's instant
//	snap_redacted        audit-log entries the public export redacts
//
// Content (rows, files, observations, outcomes, the organisations a
// release names) is kept for snap_content only: a withdrawn release keeps
// its page and its approval record, never its data.

// snapshotTable is a table kept in the public snapshot.
type snapshotTable struct {
	name string
	// prune are the statements, run in order, that reduce the table to
	// what the public may see and blank the columns it never sees; none
	// keeps the table whole.
	prune []string
	// why the public may see what is kept.
	why string
}

// notContent, notListed: a release_id outside the keep-sets.
const (
	notContent = `release_id NOT IN (SELECT id FROM snap_content)`
	notListed  = `release_id NOT IN (SELECT id FROM snap_listed)`
)

// publicTables are the tables a public snapshot holds, and how each is
// pruned.
var publicTables = []snapshotTable{
	{"schema_migrations", nil,
		"which migrations made the schema (file names and hashes of this program's own SQL): the read node refuses a schema it does not know"},

	// Catalogue.
	{"publishers", []string{
		`DELETE FROM publishers WHERE id NOT IN (SELECT publisher_id FROM datasets WHERE publisher_id IS NOT NULL AND id IN (SELECT id FROM snap_listed_datasets))`},
		"publishers of listed datasets"},
	{"datasets", []string{
		`DELETE FROM datasets WHERE id NOT IN (SELECT id FROM snap_datasets)`,
		// A dataset named only by an announced calendar entry (all its
		// entries cancelled, say) shows its slug and title there, nothing else.
		`UPDATE datasets SET summary = '', description = '', topics = '[]', attribution = '', frequency = '', granularity = '',
			publisher_id = NULL WHERE id NOT IN (SELECT id FROM snap_listed_datasets)`},
		"listed datasets (and the title of a dataset an announced calendar entry names)"},
	{"inventory_entries", []string{
		`DELETE FROM inventory_entries WHERE dataset_id NOT IN (SELECT id FROM snap_listed_datasets)`},
		"the published inventory's entry for each listed dataset"},
	{"releases", []string{
		`DELETE FROM releases WHERE id NOT IN (SELECT id FROM snap_listed)`,
		`UPDATE releases SET corrects = NULL WHERE corrects NOT IN (SELECT id FROM snap_listed)`,
		`UPDATE releases SET replaced_by = NULL WHERE replaced_by NOT IN (SELECT id FROM snap_listed)`},
		"listed releases: published, superseded and withdrawn (a withdrawn release keeps its page)"},
	{"release_files", []string{
		`DELETE FROM release_files WHERE role <> 'public' OR ` + notListed},
		"public files of listed releases (a withdrawn release's file records stay, without their bytes: its approval record is checked against their hashes); never originals"},
	{"organisation_mentions", []string{`DELETE FROM organisation_mentions WHERE ` + notContent},
		"the organisations each release with public content names"},
	{"organisations", []string{
		`DELETE FROM organisations WHERE in_directory <> 1 AND code NOT IN (SELECT code FROM organisation_mentions WHERE release_id IN (SELECT id FROM snap_content))`},
		"the organisation directory, and organisations named by releases with public content"},
	{"calendar_entries", []string{
		`DELETE FROM calendar_entries WHERE id NOT IN (SELECT id FROM snap_calendar)`,
		// As the public calendar reads them: published, and naming its
		// release, only once the release's content is public.
		`UPDATE calendar_entries SET status = 'announced' WHERE status = 'published' AND (release_id IS NULL OR ` + notContent + `)`,
		`UPDATE calendar_entries SET release_id = NULL WHERE ` + notContent},
		"announced calendar entries"},
	{"calendar_changes", []string{
		`DELETE FROM calendar_changes WHERE entry_id NOT IN (SELECT id FROM snap_calendar)`},
		"changes of date of announced calendar entries, with their reasons"},
	{"outcodes", nil, "postcode district centres: public reference data"},

	// Rows and indicators of releases with public content.
	{"dataset_rows", []string{`DELETE FROM dataset_rows WHERE (release_id, file_name) NOT IN
		(SELECT release_id, name FROM release_files WHERE role = 'public' AND release_id IN (SELECT id FROM snap_content))`},
		"rows of public files of releases with public content (rows stored before row blocks)"},
	{"row_blocks", []string{`DELETE FROM row_blocks WHERE (release_id, file_name) NOT IN
		(SELECT release_id, name FROM release_files WHERE role = 'public' AND release_id IN (SELECT id FROM snap_content))`},
		"rows of public files of releases with public content"},
	{"indicator_definitions", []string{`DELETE FROM indicator_definitions WHERE ` + notContent}, "indicators of releases with public content"},
	{"observations", []string{`DELETE FROM observations WHERE ` + notContent}, "observations of releases with public content"},
	{"observation_points", []string{`DELETE FROM observation_points WHERE ` + notContent}, "the packed points of observations of releases with public content"},
	{"indicator_summaries", []string{`DELETE FROM indicator_summaries WHERE ` + notContent}, "indicator summaries of releases with public content"},
	{"audit_releases", []string{`DELETE FROM audit_releases WHERE ` + notContent}, "clinical audit definitions of releases with public content"},
	{"audit_outcomes", []string{`DELETE FROM audit_outcomes WHERE ` + notContent}, "clinical audit outcomes of releases with public content"},

	// Transparency.
	{"audit_log", []string{
		`UPDATE audit_log SET files = '[]', details = '' WHERE seq IN (SELECT seq FROM snap_redacted)`},
		"the whole hash chain, as /transparency/audit-log.jsonl exports it: entries about releases without public content, and about accounts, keep only their header and payload hash"},
	{"workflow_reviews", []string{
		`DELETE FROM workflow_reviews WHERE ` + notListed,
		`UPDATE workflow_reviews SET answers = '[]', change_asked = '', reasons = '', accepted = '[]'`},
		"who approved each listed release, when, and on which file hashes (the transparency record); not the panel's answers or reasons"},
	{"workflow_access", []string{`DELETE FROM workflow_access WHERE ` + notListed},
		"the pre-release access list of each listed release (the transparency record)"},
	{"register_entries", nil, "the data release register: public as a whole"},
	{"release_changes", nil, "a counter of changes to releases, which the catalogue store reads to know its cached set of public releases still holds: no content"},

	// Pooled patient feedback.
	{"feedback_sources", nil, "the feedback services whose feeds are read: names, titles, feed and home addresses (public attribution)"},
	{"feedback_items", []string{
		`DELETE FROM feedback_items WHERE state <> 'visible'`,
		`UPDATE feedback_items SET reason = '', moderated_by = '', moderated_at = ''`},
		"visible feedback items as scorecards show them (what their sources published); never held or hidden items, nor who moderated them or why"},
}

// privateTables are the tables a public snapshot never holds, and why.
var privateTables = map[string]string{
	"users":                      "accounts and their password hashes",
	"sessions":                   "sign-in sessions",
	"api_tokens":                 "API token hashes",
	"login_attempts":             "sign-in attempts, with client addresses",
	"release_events":             "the workflow history of each release, shown only in the workspace",
	"workflow_reports":           "disclosure control reports: they name cells",
	"workflow_previews":          "provider preview windows",
	"workflow_queries":           "provider checkers' queries and their resolutions",
	"workflow_outlier_responses": "providers' answers to outlier notifications",
	"workflow_unfinished":        "amendments start-up recovery must finish",
	"websub_subscriptions":       "WebSub subscribers' callback addresses and secrets",
	"feedback_moderations":       "moderators' decisions about feedback items, with their names and reasons (the audit log keeps each, redacted in its public export)",
}

// publicTable returns the public table named name.
func publicTable(name string) (snapshotTable, bool) {
	for _, t := range publicTables {
		if t.name == name {
			return t, true
		}
	}
	return snapshotTable{}, false
}

// appMigrations are the migrations of every store in candour.db, as
// openApp applies them (TestSnapshotTablesDecided checks the two agree). A
// read node compares a snapshot's schema_migrations with them.
func appMigrations() []sqlitedb.Set {
	return []sqlitedb.Set{
		{Component: cataloguesqlite.Component, Files: cataloguesqlite.Migrations()},
		rowsqlite.Migrations(),
		auditsqlite.Migrations(),
		workflowsqlite.Migrations(),
		accountsqlite.Migrations(),
		registersqlite.Migrations(),
		observationsqlite.Migrations(),
		outcomesqlite.Migrations(),
		websubsqlite.Migrations(),
		{Component: feedbacksqlite.Component, Files: feedbacksqlite.Migrations()},
	}
}
