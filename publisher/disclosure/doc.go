// Package disclosure runs the automated disclosure control of every
// release submitted to Candour. Given the parsed original files of a
// release (and the public files of earlier releases of the same dataset)
// it produces the public version of each file and a report whose verdict
// says whether the submission is blocked.
//
// # What it owns
//
//   - Applying the dataset's declared rule (datasets.DisclosureRule) to
//     each file: "nhs-digital" (0 stays 0, 1–7 become a marker, other
//     counts of individuals below national level are rounded to the
//     nearest 5, simple statistics from 1–7 contributors are suppressed),
//     "threshold" (counts from 1 to the threshold are suppressed, then
//     secondary suppression is chosen automatically) or "none" (nothing
//     changes; the stated reason goes to the reviewers). Cells suppressed
//     in the original stay suppressed.
//   - Finding direct identifiers: NHS numbers (Modulus 11, also buried in
//     free text), full postcodes and dates of birth in person-level files,
//     fields declared direct identifiers. Free-text columns are listed for
//     the reviewers' attention.
//   - The recoverability audit (Candour's criterion, disclosure.md A9):
//     every published value is an interval, every published margin is a
//     relation, cells with the same identity in files of one release, and
//     cells declared unchanged since a linked earlier release, are one
//     unknown; each suppressed cell's feasible interval must hold at least
//     the declared protection (default three possible values).
//   - k-anonymity and ℓ-diversity of record-level files, the (n,k)
//     dominance and p% rules of magnitude tables.
//   - The public summary: how many cells were suppressed, rounded or left
//     unchanged, never which cells or their values.
//
// # Files too large to hold
//
// A file whose rows the audit cannot need — no small-number or magnitude
// rule, not person-level, no hierarchy, nothing suppressed at source, and
// no earlier release with a suppressed cell — may be checked as it is
// read (Streamable, Scan; stream.go): the per-cell checks of its rule,
// its cell counts and the identifier scan (idscan.go, the same code Check
// runs over rows) see each row once and keep only counts and the cells
// their findings name. Check gives the same findings and file reports as
// from the rows, with an audit report marked streamed; it refuses a
// streamed file whenever any of those conditions fails, so the caller
// reads the rows instead.
//
// # Failing safe
//
// The audit must not depend on the publisher remembering to declare
// things: what is left undeclared makes the release safer.
//
//   - Counts by default: under a small-number rule (nhs-digital,
//     threshold) every integer field with role measure (or no role) is a
//     count of individuals unless the schema says otherwise:
//     candour:notACount with a reason (shown to reviewers as a finding),
//     candour:alreadyPublished, a magnitude or a statistic. A file that
//     declares no rule but holds such fields takes the release's rule (a
//     companion table); with no rule anywhere it is a declaration error.
//   - Totals found from the data (totals.go): rows that are half their
//     group's sum in every count column (national, regional, "All ages"
//     rows) and columns that equal the sum of other columns in every row
//     are audited as margins, with a finding naming them.
//   - Corrections: a cell is the same unknown in both releases unless the
//     originals differ; a cell submitted already suppressed is taken as
//     unchanged (and so linked) unless its row is listed as changed
//     (release.revision with of = the corrected version), because a
//     reader of the notice takes whatever it does not list as unchanged.
//     Cells submitted already suppressed are flagged: Candour needs the
//     true values.
//   - Hierarchies (hierarchy.go): candour:parent on a key or dimension
//     field links children to the parent cell through a mapping file of
//     the release or the organisation directory, whether or not the
//     children's file repeats the parent's code.
//   - Text (text.go): the release's title, summary, change notes,
//     correction notice and quality statements are published too; a
//     figure in them that, read as the value of a cell the sentence is
//     about, narrows a suppressed cell below its protection blocks.
//   - Already-public figures (candour:alreadyPublished, with the source
//     and its address) are published exactly and audited as exact, and
//     never chosen for secondary suppression.
//   - The public summary gives one count of suppressed cells: telling
//     small numbers from the cells suppressed to protect them would tell
//     a reader the latter are above the threshold.
//
// # Reports people can act on
//
// Every finding about a row gives its key values (Finding.Key, and in the
// message beside the row number: "row 5 (RR8, 15-24, M)"); a recoverable
// cell's finding says what gives it away (Finding.Because: the margins and
// files, linked releases or text). The audit report lists every
// suppressed cell's feasible interval with the method that proved it
// (AuditReport.Cells) and the secondary suppressions chosen, each with the
// cells it protects (AuditReport.Secondary). The workspace, GET
// /api/v1/submissions/{id} and `candour release show` show them.
//
// # How the audit and secondary suppression work
//
// The audit gathers the unknowns (cells of counts, totals and magnitudes,
// one per identity), intersects what each publication of a cell discloses,
// and splits the relations into connected components of unknowns that are
// not pinned. A component of up to 40 unknowns is solved exactly: bound
// propagation plus depth-first search by domain splitting, with a binary
// search for each suppressed cell's least and greatest value. Each
// feasibility question ("can this cell be 3?") first looks for a witness
// (witness.go): starting from the true values, it repairs one unbalanced
// relation at a time by moving one unknown within its bounds, most
// constrained relation first. A witness is a solution, so the answer is
// exact; the search decides only when none is found quickly. Most
// questions are answered by moving a cell, its few margins and a
// compensating cell, which keeps the audit of a release of millions of
// rows within a few times the cost of parsing it (make bench-disclosure).
// The model itself is built with interned identities and arrays by
// unknown rather than maps of quoted strings (identities.go, model.go),
// and the work that splits cleanly runs on every processor: the rule
// applied to rows, margin relations column by column, the blocks' solves
// (each reusing pooled working arrays), the findings about recoverable
// cells, and the identifier scan, which runs beside the audit. Larger
// components, or ones whose search exceeds its budget, get a linear-
// programming bound from a small bounded-variable simplex (float64,
// rounded inwards to whole units); the report states the method per cell.
//
// A relation over very many unknowns (more than 64: a national row over
// thousands of practices) would join every block into one component far
// too big to solve (giant.go). Such relations are left out when the
// blocks are formed; a block they touch is solved with up to three
// compensating blocks free and every other unknown held at its true
// value, by exact search first (up to 400 unknowns, budgeted). Holding
// values fixed only removes solutions, so a cell that keeps its
// protection there keeps it in full; the method is "restricted", and a
// cell may be refused that the whole system would pass.
//
// Under the threshold rule (and for magnitude cells) secondary suppression
// is greedy, one component at a time: while some suppressed cell fails,
// try the smallest few unsuppressed non-zero cells in a relation with a
// failing cell (interior cells before margins) and keep the one after
// which the fewest cells fail; when the audit passes, give back any
// secondary cell it does not need, largest first. The final pattern is
// always re-audited as a whole. Cells pinned by what the heuristic cannot
// change (an earlier release, a file under another rule, rounding under
// nhs-digital) become blocking findings for the publisher to resolve.
//
// # What it must not do
//
// It never stores, serves or logs anything: it is a pure function from
// parsed files to public files and a report. The original is input only:
// nothing it returns for publication ([PublicFile], [PublicSummary])
// derives from a suppressed cell's original value, while the [Report],
// which names cells and quotes values, is private to the publisher and the
// reviewers. It imports only the standard library and datasets.
//
// # Decisions where the reference is silent
//
//   - Non-integer counts (the half-patients of cancer waiting times) are
//     rounded to a whole number first, halves up, with any positive value
//     below one half counting as one, so 0 still means exactly none; then
//     the nhs-digital rule applies. The audit models their true values on
//     a lattice of halves (or finer, as the file's decimals need).
//   - National level: a row is national when a key or dimension field
//     holds one of its candour:nationalValues, or when every field that
//     declares candour:geographyLevel declares "national". Only the
//     nhs-digital rule exempts national rows (as NHS Digital does); the
//     threshold rule applies at every level, as the ONS health guidance
//     says "regardless of population size".
//   - NHS numbers: 0000000000 and other repeated-digit numbers pass the
//     check digit but are rejected by policy (never issued); numbers in the
//     test range 999 000 0000–999 999 9999 that pass are still reported,
//     since they show that a column holds NHS numbers. A column is an
//     NHS-number column when more than half of its 10-digit tokens pass
//     (or its name says NHS number); elsewhere a passing token is reported
//     only when its cell mentions "NHS".
//   - Postcodes: only full unit postcodes of the Royal Mail formats are
//     reported; NHS pseudo-postcodes (ZZ99 …) identify no address and are
//     not. In person-level files they block; in free-text columns of other
//     files they are listed for reviewers.
//   - Free text: string fields with role note, and string fields with no
//     role, no enum, pattern or organisation reference that hold any value
//     of 100 characters or 12 words or more. Never blocking on its own.
//   - Markers: a suppressed cell is written with the field's first
//     candour:suppressed marker, or "*" when it has none (the public schema
//     then declares "*").
//   - Magnitude tables: the rows of an original file with candour:magnitude
//     fields are contributions; the public version is the table of cells
//     (one row per combination of the dimension fields, each magnitude
//     summed), and key and other fields, which identify contributors, are
//     left out.
//   - Cell identity: a cell is identified by its field name and the values
//     of the row's key and dimension fields by field name (the primary key
//     when no field has those roles), leaving out a dimension whose value
//     is one of its candour:totalValues: a margin row over a dimension and a
//     file without that dimension describe the same cell.
//   - Relations: a margin is the sum of its parts within one file (the
//     parts of one file; the margin may be in any file of the release);
//     files with different bandings of one dimension therefore give one
//     relation each, which also catches differencing between nested bands.
//     Margins that do not add up in the original are left out of the audit
//     and reported (blocking when they involve a suppressed cell).
//   - Corrections: a correction is linked to the release it corrects cell
//     by cell, by comparing the two releases' originals (Earlier.Originals):
//     the correction notice and the what-changed page make the difference
//     public, so every cell whose original is unchanged is one unknown in
//     both releases, whatever else changed in its row (a row-level
//     declaration would miss a suppressed cell beside a corrected one). A
//     margin one release publishes and the other does not is compared with
//     the sum of the other's parts.
//   - Earlier releases: only linked ones take part. In an earlier public
//     file under the threshold rule a marker is read as hiding primary and
//     secondary cells alike (0 up to its margins), since the public cannot
//     tell them apart; earlier files with no declared rule are read as
//     "none".
//   - Suppressed statistics and suppressed cells of fields that take part
//     in no sum (scores, rates) are counted but not audited: no published
//     relation involves them.
package disclosure
