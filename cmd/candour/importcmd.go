package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/candour/candour/publisher"
)

const importUsage = `Usage: candour import <what> [options] FILE

Loads data into the data folder. Every file is checked completely first;
if anything is wrong, each problem is printed with its row and column and
nothing is stored.

What:
  practices FILE     ODS GP practices and prescribing cost centres (epraccur.csv, no header)
  trusts FILE        ODS NHS trusts (etr.csv, no header)
  area-names FILE…  names of NHS England regions and integrated care boards, from the
                     NHS payments to general practice file and the CQC ratings of GP
                     practices (recognised by their headers; the first file given wins
                     where they disagree, and every conflict is printed)
  inventory FILE     an inventory of promised datasets (tab-separated, with a header)
  release FILE       a release: a JSON descriptor naming the dataset, the release, and
                     its CSV files with their Table Schemas (paths relative to the
                     descriptor). The release is stored as "checked", not published:
                     it is public only once the transparency panel has approved it in
                     the workspace and the scheduler publishes it at its embargo.
  demo               the bundled real NHS data, with its releases published

Run "candour import <what> --help" for options.
`

const inventorySource = "the inventory of datasets promised in the 2012 health and care information strategy (Annex B)"

func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, importUsage)
			return &usageError{"candour import: say what to import"}
		}
		fmt.Fprint(stdout, importUsage)
		return errHelp
	}
	what, rest := args[0], args[1:]
	argsHelp, want := "FILE", 1
	summary := map[string]string{
		"practices":  "Loads ODS GP practices and prescribing cost centres (epraccur.csv, headerless).",
		"trusts":     "Loads ODS NHS trusts (etr.csv, headerless).",
		"area-names": "Names regions and integrated care boards from the files that name them; the first file given wins and every conflict is printed.",
		"inventory":  "Loads an inventory of promised datasets as announced catalogue entries, keeping every column's text.",
		"release":    "Checks and stores a release described by a JSON descriptor; it is not published.",
		"demo":       "Loads the bundled real NHS data into an empty data folder and publishes its releases.",
	}[what]
	if summary == "" {
		return &usageError{fmt.Sprintf("candour import: unknown kind %q (practices, trusts, area-names, inventory, release or demo)", what)}
	}
	if what == "demo" {
		argsHelp, want = "", 0
	}
	if what == "area-names" {
		argsHelp, want = "FILE…", -1
	}
	cfg, files, err := parseConfig("import "+what, summary, argsHelp, false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	if want < 0 && len(files) == 0 {
		return &usageError{fmt.Sprintf("candour import %s: want at least one file argument", what)}
	}
	if want >= 0 && len(files) != want {
		return &usageError{fmt.Sprintf("candour import %s: want %d file argument(s), got %d", what, want, len(files))}
	}
	log := cfg.logger(stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	progress := progressPrinter(stderr)
	switch what {
	case "practices", "trusts":
		return importDirectory(ctx, a, what, files[0], stdout, progress)
	case "area-names":
		var named []publisher.AreaNameFile
		for _, file := range files {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			named = append(named, publisher.AreaNameFile{Name: filepath.Base(file), R: f})
		}
		report, err := a.publisher.ImportAreaNames(ctx, named)
		if err != nil {
			return err
		}
		printDirectoryReport(stdout, report)
		return nil
	case "inventory":
		f, err := os.Open(files[0])
		if err != nil {
			return err
		}
		defer f.Close()
		report, err := a.publisher.ImportInventory(ctx, f, filepath.Base(files[0]), inventorySource)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Loaded %d inventory entries (%d already present).\n", report.Entries, len(report.Skipped))
		for _, p := range report.Unmapped {
			fmt.Fprintln(stdout, "  not read: "+p.Error())
		}
		return nil
	case "release":
		dir, name := filepath.Split(files[0])
		if dir == "" {
			dir = "."
		}
		sub, err := publisher.ReadSubmission(os.DirFS(dir), name)
		if err != nil {
			return err
		}
		out, err := a.publisher.Submit(ctx, operatorActor(sub), sub, progress)
		if err != nil {
			return err
		}
		printOutcome(stdout, out)
		return nil
	case "demo":
		start := time.Now()
		if err := loadDemo(ctx, a, stdout, progress); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Demo data loaded in %s.\n", time.Since(start).Round(time.Millisecond))
		return nil
	}
	return nil
}

func importDirectory(ctx context.Context, a *app, what, file string, stdout io.Writer, progress publisher.Progress) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	importer := a.publisher.ImportPractices
	if what == "trusts" {
		importer = a.publisher.ImportTrusts
	}
	report, err := importer(ctx, f, filepath.Base(file), info.Size(), progress)
	if err != nil {
		return err
	}
	printDirectoryReport(stdout, report)
	return nil
}

func printDirectoryReport(w io.Writer, r publisher.DirectoryReport) {
	fmt.Fprintf(w, "Loaded %d rows from %s:\n", r.Rows, r.Source)
	for _, line := range r.CountLines() {
		fmt.Fprintln(w, "  "+line)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "Note: "+n)
	}
}

func printOutcome(w io.Writer, out publisher.Outcome) {
	r := out.Release
	fmt.Fprintf(w, "Release %d stored: %s version %d, %q, state %s.\n", r.ID, r.Dataset.Slug, r.Version, r.Title, r.State)
	for _, f := range r.Files {
		fmt.Fprintf(w, "  %s: %d rows, %d bytes, sha256 %s\n", f.Name, f.Rows, f.Bytes, f.SHA256)
	}
	if len(out.Warnings) > 0 {
		fmt.Fprintf(w, "%d warning%s:\n", len(out.Warnings), map[bool]string{true: "s"}[len(out.Warnings) != 1])
		for i, warn := range out.Warnings {
			if i == 10 && len(out.Warnings) > 12 {
				fmt.Fprintf(w, "  … and %d more\n", len(out.Warnings)-10)
				break
			}
			fmt.Fprintln(w, "  "+warn)
		}
	}
}

// progressPrinter prints progress lines such as
// "checking epraccur.csv: 45% (1.6 MB of 3.6 MB)".
func progressPrinter(w io.Writer) publisher.Progress {
	return func(step string, done, total int64) {
		if total > 0 {
			fmt.Fprintf(w, "%s: %d%% (%.1f MB of %.1f MB)\n", step, done*100/total, float64(done)/1e6, float64(total)/1e6)
			return
		}
		fmt.Fprintf(w, "%s: %.1f MB\n", step, float64(done)/1e6)
	}
}

// operatorActor is the operator submitting from the command line, for the
// publisher the descriptor names. The operator runs the server, so may
// submit for any publisher; the release still needs the panel's approvals
// before anything is public.
func operatorActor(sub publisher.Submission) publisher.Actor {
	return publisher.Actor{Username: "operator", Name: "Operator (command line)",
		Roles: []publisher.Role{publisher.RolePublisher}, Organisation: sub.Dataset.Publisher.Slug}
}
