package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/candour/candour/publisher"
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

const auditUsage = `Usage: candour audit verify [--data-dir DIR]

Recomputes the hash chain of the audit log — every workflow step, account
change and register entry — and reports the chain head. Exits with status 1
and names the first entry that does not match if any entry was altered,
removed or reordered.
`

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
	cfg, pos, err := parseConfig("audit verify", auditUsage, "", false, args[1:], getenv, stdout)
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
	head, err := a.publisher.VerifyAuditLog(ctx)
	if err != nil {
		return fmt.Errorf("the audit log does not verify: %w", err)
	}
	fmt.Fprintf(stdout, "The audit log verifies: %d entries, chain head %s.\n", head.Seq, head.Hash)
	return nil
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
