package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/auditlog"
)

const userUsage = `Usage:
  candour user add USERNAME --role ROLE[,ROLE…] [--name "Full Name"] [--org CODE] [--password-file FILE] [--data-dir DIR]
  candour user token USERNAME --label "what it is for" [--data-dir DIR]

Creates an account. Use it once to create the first administrator:

  candour user add ada --role administrator --name "Ada Lovelace"

Roles:
  publisher         submits releases for their organisation (--org: the publisher's slug, e.g. nhs-digital)
  reviewer          a transparency panel member (--org: their organisation, which they may not review for)
  provider-checker  previews their own organisation's figures before publication (--org: its ODS code, e.g. RA2)
  administrator     schedules, withdraws and keeps the data release register

"user token" prints a new API token for a publisher who uploads
programmatically (POST /api/v1/submissions with Authorization: Bearer
TOKEN; GET /api/v1/submissions/ID then gives the disclosure report: every
finding, each suppressed cell's feasible values and the suppressions
Candour added). Send the true values, not files already suppressed:
Candour applies the rule and audits the result itself. The token is
shown once and stored only as a hash.

The password (at least 12 characters) is read from the first line of
--password-file (use - for standard input), or else from the environment
variable CANDOUR_PASSWORD. It is stored only as an argon2id hash.
`

func runUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, userUsage)
			return &usageError{"candour user: say what to do (add)"}
		}
		fmt.Fprint(stdout, userUsage)
		return errHelp
	}
	if args[0] != "add" && args[0] != "token" {
		return &usageError{fmt.Sprintf("candour user: unknown action %q (add or token)", args[0])}
	}
	if args[0] == "token" {
		return runUserToken(ctx, args[1:], getenv, stdout, stderr)
	}
	// --role, --name and --org are this action's own flags.
	var roles, name, org, passwordFile string
	var rest []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "--role" || a == "--name" || a == "--org" || a == "--password-file") && i+1 < len(args):
			v := args[i+1]
			i++
			switch a {
			case "--role":
				roles = v
			case "--name":
				name = v
			case "--org":
				org = v
			case "--password-file":
				passwordFile = v
			}
		default:
			rest = append(rest, a)
		}
	}
	cfg, pos, err := parseConfig("user add", userUsage, "USERNAME", false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"candour user add: want one USERNAME (see candour user --help)"}
	}
	if roles == "" {
		return &usageError{"candour user add: --role is required (publisher, reviewer, provider-checker or administrator)"}
	}
	var rs []publisher.Role
	for _, r := range strings.Split(roles, ",") {
		role := publisher.Role(strings.TrimSpace(r))
		switch role {
		case publisher.RolePublisher, publisher.RoleReviewer, publisher.RoleProviderChecker, publisher.RoleAdministrator:
		default:
			return &usageError{fmt.Sprintf("candour user add: --role %q: want publisher, reviewer, provider-checker or administrator", r)}
		}
		rs = append(rs, role)
	}
	password := getenv("CANDOUR_PASSWORD")
	if passwordFile != "" {
		var in io.Reader = os.Stdin
		if passwordFile != "-" {
			f, err := os.Open(passwordFile)
			if err != nil {
				return fmt.Errorf("--password-file: %w", err)
			}
			defer f.Close()
			in = f
		}
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("--password-file %s: no password in it", passwordFile)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return &usageError{"candour user add: give the password with --password-file or CANDOUR_PASSWORD"}
	}
	if name == "" {
		name = pos[0]
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	actor, err := a.addUser(ctx, "operator (command line)", pos[0], name, password, rs, org)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created %s (%s) with the role%s %s.\n", actor.Username, actor.Name, pluralS(len(rs)), roleNames(actor.Roles))
	return nil
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

const auditUsage = "Usage: candour audit verify [--expect-head SEQ:HASH]… [--release-heads=false] [--data-dir DIR]\n\n" + auditSummary

const auditSummary = `Recomputes the hash chain of the audit log — every workflow step, account
change and register entry — and reports the chain head. Exits with status 1
and names the first entry that does not match if any entry was altered,
removed or reordered.

A chain cut short at its end still links up, so verify also checks the log
holds every chain head recorded outside it: the head each published release
carries in its manifest (read from the release records in the data folder
unless --release-heads=false), and each --expect-head SEQ:HASH given (a head
copied from a manifest, the transparency page or a backup's backup.json;
repeat the option for several). If the log no longer holds an entry with
that sequence number and hash — entries were removed from its end, or it
was rewritten from there — verify exits with status 1 naming each missing
head and where it was recorded.

  --expect-head SEQ:HASH   a chain head the log must still hold (repeatable)
  --release-heads=false    do not check the heads of the published releases`

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, auditUsage)
			return &usageError{"candour audit: say what to do (verify)"}
		}
		fmt.Fprint(stdout, auditUsage)
		return errHelp
	}
	if args[0] != "verify" {
		return &usageError{fmt.Sprintf("candour audit: unknown action %q (verify)", args[0])}
	}
	// --expect-head and --release-heads are this action's own options.
	var expected []auditlog.KnownHead
	releaseHeads := true
	var rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch strings.TrimLeft(name, "-") {
		case "expect-head":
			if !strings.HasPrefix(a, "-") {
				rest = append(rest, a)
				continue
			}
			if !hasValue {
				if i+1 >= len(args) {
					return &usageError{"candour audit verify: --expect-head needs SEQ:HASH"}
				}
				i++
				value = args[i]
			}
			h, err := auditlog.ParseHead(value)
			if err != nil {
				return &usageError{fmt.Sprintf("candour audit verify: --expect-head: %v", err)}
			}
			expected = append(expected, auditlog.KnownHead{Head: h, Source: "--expect-head " + h.String()})
		case "release-heads":
			if !strings.HasPrefix(a, "-") {
				rest = append(rest, a)
				continue
			}
			b := true
			if hasValue {
				var err error
				if b, err = strconv.ParseBool(value); err != nil {
					return &usageError{fmt.Sprintf("candour audit verify: --release-heads %q: want true or false", value)}
				}
			}
			releaseHeads = b
		default:
			rest = append(rest, a)
		}
	}
	cfg, pos, err := parseConfig("audit verify", auditSummary, "", false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return &usageError{"candour audit verify: takes no arguments"}
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	head, checked, err := a.verifyAudit(ctx, releaseHeads, expected)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "The audit log verifies: %d entries, chain head %s.\n", head.Seq, head.Hash)
	if checked > 0 {
		fmt.Fprintf(stdout, "Chain heads recorded outside the log (release manifests, --expect-head), all found in it: %d.\n", checked)
	}
	return nil
}

// verifyAudit verifies the audit chain and that it holds the expected
// heads, and the head of every published release when releaseHeads is
// set. It returns the chain's head and how many known heads were checked.
func (a *app) verifyAudit(ctx context.Context, releaseHeads bool, expected []auditlog.KnownHead) (auditlog.Head, int, error) {
	known := slices.Clone(expected)
	if releaseHeads {
		hs, err := a.publisher.ReleaseAuditHeads(ctx)
		if err != nil {
			return auditlog.Head{}, 0, fmt.Errorf("chain heads of published releases: %w", err)
		}
		known = append(known, hs...)
	}
	head, err := a.publisher.VerifyAuditLog(ctx, known...)
	if err != nil {
		return head, len(known), fmt.Errorf("the audit log does not verify: %w", err)
	}
	return head, len(known), nil
}

func runUserToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var label string
	var rest []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--label" && i+1 < len(args) {
			label = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	cfg, pos, err := parseConfig("user token", userUsage, "USERNAME", false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"candour user token: want one USERNAME (see candour user --help)"}
	}
	if label == "" {
		return &usageError{"candour user token: --label is required (say what the token is for)"}
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.accounts.UserByUsername(ctx, pos[0])
	if err != nil {
		return err
	}
	secret, tok, err := a.accounts.CreateAPIToken(ctx, "operator (command line)", u.ID, label)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API token %d for %s (%s). It is shown only now:\n%s\n", tok.ID, u.Username, label, secret)
	return nil
}
