package main

import (
	"context"
	"fmt"
	"io"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
)

const publisherUsage = `Usage: candour publisher rename SLUG --name NAME [--url URL] [options]

Sets the public name (and address) of an organisation that publishes here:
the administrator's correction. A submission never changes an organisation's
name; it names one only for its first dataset. The change is recorded in the
audit log with the name before and after. A running server shows the new
name within a minute (its page cache); search results and read nodes show it
after the next publication or candour reindex.
`

// operatorAdministrator is the operator acting as administrator from the
// command line.
var operatorAdministrator = publisher.Actor{Username: "operator", Name: "Operator (command line)",
	Roles: []publisher.Role{publisher.RoleAdministrator}}

func runPublisher(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, publisherUsage)
			return &usageError{"candour publisher: say what to do (rename)"}
		}
		fmt.Fprint(stdout, publisherUsage)
		return errHelp
	}
	if args[0] != "rename" {
		return &usageError{fmt.Sprintf("candour publisher: unknown action %q (rename)", args[0])}
	}
	// --name and --url are this action's own flags; take them out before
	// the common ones.
	var p catalogue.Publisher
	var named bool
	var rest []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "--name" || a == "--url") && i+1 < len(args):
			if a == "--name" {
				p.Name, named = args[i+1], true
			} else {
				p.URL = args[i+1]
			}
			i++
		default:
			rest = append(rest, a)
		}
	}
	cfg, pos, err := parseConfig("publisher rename", "See candour publisher --help.", "", false, rest, getenv, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"candour publisher rename: want one SLUG (the publisher's, as in dataset.publisher.slug of its descriptors)"}
	}
	if !named {
		return &usageError{"candour publisher rename: --name is required"}
	}
	p.Slug = pos[0]
	if err := p.Validate(); err != nil {
		return &usageError{fmt.Sprintf("candour publisher rename: %v", err)}
	}
	a, err := openApp(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.publisher.RenamePublisher(ctx, operatorAdministrator, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Publisher %s is now %q.\n", p.Slug, p.Name)
	return nil
}
