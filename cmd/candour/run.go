package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/candour/candour/cmd/internal/gctune"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	gctune.Tune(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "candour:", err)
		os.Exit(1)
	}
}

const usageText = `Candour publishes health and care data openly: a catalogue of datasets
and their releases, organisation pages, and CSV downloads under the Open
Government Licence. Every release is checked against its Table Schema
before it is stored, and nothing is public until it is published.

Usage:
  candour <command> [options] [arguments]

Commands:
  demo      load the bundled real NHS data into an empty data folder, then serve it
  serve     serve the public site from a data folder
  import    load a directory, the dataset inventory or a release (see candour import --help)
  release   list releases in every state and show one (see candour release --help)
  user      create accounts, such as the first administrator (see candour user --help)
  publisher rename an organisation that publishes here, audited (see candour publisher --help)
  audit     verify the hash-chained audit log (candour audit verify)
  reindex   rebuild the search index from the database
  backup    write a consistent backup of the data folder, even while serving (candour backup OUT)
  restore   restore a backup into an empty data folder and verify it (candour restore BACKUP)
  migrate-to-clickhouse
            copy rows, observations and audit outcomes to the --clickhouse server, resumably
  version   print the version

Run "candour <command> --help" for a command's options. Every option can also
be set with an environment variable (CANDOUR_ADDR, CANDOUR_DATA_DIR, …).

Quick start:
  candour demo                  # then open http://127.0.0.1:8080
`

// run is the whole program: main only adds the process's arguments,
// environment, standard streams and signals.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return &usageError{"candour: a command is required"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usageText)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "candour", version)
		return nil
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, rest, getenv, stdout, stderr)
	case "release":
		return runRelease(ctx, rest, getenv, stdout, stderr)
	case "user":
		return runUser(ctx, rest, getenv, stdout, stderr)
	case "publisher":
		return runPublisher(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "reindex":
		return runReindex(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, getenv, stdout, stderr)
	case "migrate-to-clickhouse":
		return runMigrateToClickHouse(ctx, rest, getenv, stdout, stderr)
	}
	return &usageError{fmt.Sprintf("candour: unknown command %q (run candour --help)", cmd)}
}
