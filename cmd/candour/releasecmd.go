package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher/disclosure"
)

const releaseUsage = `Usage: candour release <action> [options] [arguments]

Actions:
  list [--state STATE]        list releases in every state (draft, checked, in-review, scheduled, published, …)
  show DATASET VERSION        a release's details, files, history and disclosure report
                              (findings, each suppressed cell's feasible values and
                              the method that proved them, further suppressions chosen)

Nothing here publishes: a release becomes public only through the workflow
(panel review in the workspace, then publication by the scheduler at its
embargo instant).
`

func runRelease(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, releaseUsage)
			return &usageError{"candour release: say what to do (list or show)"}
		}
		fmt.Fprint(stdout, releaseUsage)
		return errHelp
	}
	action, rest := args[0], args[1:]
	var state string
	switch action {
	case "list":
		// --state is this action's own flag; take it out before the common ones.
		var kept []string
		for i := 0; i < len(rest); i++ {
			if rest[i] == "--state" && i+1 < len(rest) {
				state = rest[i+1]
				i++
				continue
			}
			kept = append(kept, rest[i])
		}
		rest = kept
		if state != "" && !catalogue.ReleaseState(state).Valid() {
			return &usageError{fmt.Sprintf("candour release list: --state %q is not a release state", state)}
		}
	case "show":
	default:
		return &usageError{fmt.Sprintf("candour release: unknown action %q (list or show)", action)}
	}
	cfg, pos, err := parseConfig("release "+action, "See candour release --help.", "", false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	switch action {
	case "list":
		if len(pos) != 0 {
			return &usageError{"candour release list: takes no arguments"}
		}
		var states []catalogue.ReleaseState
		if state != "" {
			states = append(states, catalogue.ReleaseState(state))
		}
		releases, err := a.publisher.Releases(ctx, states...)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDATASET\tVERSION\tSTATE\tPUBLISHED\tTITLE")
		for _, r := range releases {
			published := "-"
			if !r.PublishedAt.IsZero() {
				published = r.PublishedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Dataset.Slug, r.Version, r.State, published, r.Title)
		}
		return tw.Flush()
	}
	if len(pos) != 2 {
		return &usageError{fmt.Sprintf("candour release %s: want DATASET VERSION", action)}
	}
	v, err := strconv.Atoi(pos[1])
	if err != nil || v < 1 {
		return &usageError{fmt.Sprintf("candour release %s: version %q is not a positive whole number", action, pos[1])}
	}
	r, err := a.publisher.FindRelease(ctx, pos[0], v)
	if err != nil {
		return err
	}
	events, err := a.catalogue.ReleaseEvents(ctx, r.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Release %d: %s version %d\nTitle: %s\nState: %s\nPeriod: %s\n", r.ID, r.Dataset.Slug, r.Version, r.Title, r.State, r.PeriodLabel)
	for _, f := range r.Files {
		fmt.Fprintf(stdout, "File (%s): %s, %d rows, %d bytes, sha256 %s\n", f.Role, f.Name, f.Rows, f.Bytes, f.SHA256)
	}
	for _, e := range events {
		fmt.Fprintf(stdout, "%s  %s -> %s by %s %s\n", e.At.Format("2006-01-02 15:04:05"), orDash(string(e.From)), e.To, e.Actor, e.Note)
	}
	raw, err := a.publisher.DisclosureReport(ctx, r.ID)
	if err != nil || len(raw) == 0 {
		return err
	}
	var rep disclosure.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("release %d: its disclosure report: %w", r.ID, err)
	}
	return printDisclosure(stdout, rep)
}

// printDisclosure prints a disclosure report for the operator: findings,
// each suppressed cell's feasible interval and method, and the further
// suppressions Candour chose.
func printDisclosure(w io.Writer, rep disclosure.Report) error {
	fmt.Fprintf(w, "\nDisclosure control: %s\n", rep.Summary.Sentence())
	for _, f := range rep.Findings {
		blocking := ""
		if f.Blocking {
			blocking = " (blocking)"
		}
		fmt.Fprintf(w, "Finding %s%s: %s\n", f.Kind, blocking, f.Message)
	}
	if len(rep.Audit.Cells) > 0 {
		fmt.Fprintln(w, "\nSuppressed cells (feasible values a reader could work out):")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tROW\tKEY\tFIELD\tSUPPRESSED AS\tMIN\tMAX\tVALUES\tNEEDED\tMETHOD\tPROTECTED")
		for _, c := range rep.Audit.Cells {
			hi, values := "unbounded", "unbounded"
			if c.Max != nil {
				hi, values = strconv.FormatFloat(*c.Max, 'f', -1, 64), strconv.FormatInt(c.Values, 10)
			}
			file := c.File
			if c.Version != 0 {
				file += fmt.Sprintf(" (version %d)", c.Version)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", file, c.Row, c.Key, c.Field, c.Suppression,
				strconv.FormatFloat(c.Min, 'f', -1, 64), hi, values, c.Protection, c.Method, yesNo(c.Pass))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Audit.Secondary) > 0 {
		fmt.Fprintln(w, "\nFurther suppressions Candour chose:")
		for _, c := range rep.Audit.Secondary {
			fmt.Fprintf(w, "  %s row %d (%s), %s = %s, to protect %s\n", c.File, c.Row, c.Key, c.Field, c.Value, strings.Join(c.Protects, "; "))
		}
		fmt.Fprintf(w, "  How: %s\n", rep.Audit.SecondaryMethod)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
