// Package faultpoint marks the named points where the crash-safety harness
// (cmd/candour/crash_e2e_test.go) kills the process, to prove that a crash
// at any of them leaves the data folder in a state start-up recovery can
// finish: every release fully published or not at all, no half-stored
// submission, no orphaned file served, the audit chain intact.
//
// Hit(name) does nothing in an ordinary build: the function is empty and
// the compiler removes the call. Built with the tag crashtest
// (go build -tags crashtest ./cmd/candour), Hit kills its own process with
// SIGKILL — no deferred function, no flush, no clean-up runs — when the
// environment variable CANDOUR_CRASH_AT names the point: "name" kills at
// the first hit, "name#N" at the Nth (a submission stores several blobs,
// so blob.renamed#2 is the second blob's rename). Before dying it writes
// one line to standard error naming the point.
//
// The package lives under datasets, not in a top-level internal folder:
// architecture.md §2 fixes the top-level folders and TestImportRule
// enforces who may import whom, and datasets is the lowest folder both the
// blob store and the publisher may import. It imports nothing of the
// project and must never gain behaviour in an ordinary build.
//
// # The points
//
// Upload (datasets.BlobStore.Put, once per blob stored):
//
//	blob.synced         the temporary file is written and fsynced; not yet renamed
//	blob.before-rename  the blob's folder exists and is fsynced; the rename is next
//	blob.renamed        renamed into place; the folders not yet fsynced
//	blob.dir-synced     the rename is durable; Put has not yet returned
//
// Disclosure control (publisher, prepare; submissions and amendments):
//
//	disclosure.checked  validation and disclosure control passed; nothing stored yet
//
// Submission (publisher.Service.Submit). A correction (a submission that
// corrects a published version) passes the same points named correct.*:
//
//	submit.blobs-stored   original and public files in the blob store; no record yet
//	submit.draft-created  the release record (state draft) and its files committed
//	submit.rows-stored    the public rows written to the row store
//	submit.before-commit  indicators, audit outcomes and search document written;
//	                      next is the commit of the disclosure report, the state
//	                      checked and the audit entry
//	submit.after-commit   that commit done; the answer not yet sent
//	correct.blobs-stored, correct.draft-created, correct.rows-stored,
//	correct.before-commit, correct.after-commit
//
// Amendment (publisher.Service.Amend):
//
//	amend.before-commit   new files checked and in the blob store; next is the commit
//	                      of the new files, the new disclosure report, the audit entry
//	                      and the mark that the release's derived data is unfinished
//	amend.after-commit    that commit done; the rows are still the old files'
//	amend.rows-stored     the new files' rows written
//	amend.derived-stored  indicators, audit outcomes and search document rewritten;
//	                      the unfinished mark not yet cleared
//	amend.finished        the mark cleared
//
// Publication (the scheduler, publisher.Service.PublishDue). The
// publication of a correction, which supersedes the corrected release in
// the same commit, passes the same points named publish-correction.*:
//
//	publish.before-commit  the files are verified against the approved hashes;
//	                       next is the commit that makes the release public
//	publish.after-commit   the catalogue record is published; caches and the search
//	                       index not yet told
//	publish.notified       listeners told
//	publish-correction.before-commit, publish-correction.after-commit,
//	publish-correction.notified
//
// Cancellation (publisher.Service.Cancel):
//
//	cancel.after-commit  the release is cancelled (and marked unfinished); its rows
//	                     not yet removed
//
// Start-up recovery (publisher.Service.Recover), so that a crash during
// recovery is proved recoverable too:
//
//	recovery.draft-content-removed  a stuck draft's rows and observations removed;
//	                                its record not yet
//	recovery.draft-removed          the record removal and its audit entry committed
//	recovery.before-sweep           next is removing unreferenced blobs
//
// Names lists them all; the harness checks it has a trial for each.
package faultpoint

// EnvVar is the environment variable a crashtest build reads.
const EnvVar = "CANDOUR_CRASH_AT"

// Names are every point's name, in the order of the package comment.
var Names = []string{
	"blob.synced", "blob.before-rename", "blob.renamed", "blob.dir-synced",
	"disclosure.checked",
	"submit.blobs-stored", "submit.draft-created", "submit.rows-stored", "submit.before-commit", "submit.after-commit",
	"correct.blobs-stored", "correct.draft-created", "correct.rows-stored", "correct.before-commit", "correct.after-commit",
	"amend.before-commit", "amend.after-commit", "amend.rows-stored", "amend.derived-stored", "amend.finished",
	"publish.before-commit", "publish.after-commit", "publish.notified",
	"publish-correction.before-commit", "publish-correction.after-commit", "publish-correction.notified",
	"cancel.after-commit",
	"recovery.draft-content-removed", "recovery.draft-removed", "recovery.before-sweep",
}
