package publisher_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
)

// A submission never changes an organisation's name: it names one only
// for its first dataset. An administrator renames it, audited.
func TestSubmissionsNeverRenameAPublisher(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.cat.PutPublisher(ctx, catalogue.Publisher{Slug: "nhs-england", Name: "NHS England"}); err != nil {
		t.Fatal(err)
	}
	nameOf := func(slug string) string {
		t.Helper()
		p, err := e.cat.EnsurePublisher(ctx, catalogue.Publisher{Slug: slug})
		if err != nil {
			t.Fatalf("publisher %s: %v", slug, err)
		}
		return p.Name
	}

	// A refused submission and an accepted one, both naming the
	// organisation otherwise.
	refused := submission(t, "Code,Name,Kind,Patients\nRR8,X,Provider,12x\n")
	refused.Dataset.Publisher.Name = "Not NHS England"
	if _, err := e.svc.Submit(ctx, pub, refused, nil); !errors.As(err, new(*publisher.Rejection)) {
		t.Fatalf("a bad file: got %v, want a rejection", err)
	}
	accepted := submission(t, goodCSV)
	accepted.Dataset.Publisher.Name = "Not NHS England"
	accepted.Dataset.Publisher.URL = "https://example.com/"
	if _, err := e.svc.Submit(ctx, pub, accepted, nil); err != nil {
		t.Fatal(err)
	}
	if got := nameOf("nhs-england"); got != "NHS England" {
		t.Errorf("after submissions naming it otherwise, the publisher is called %q, want %q", got, "NHS England")
	}
	d, err := e.cat.GetDataset(ctx, "waits", catalogue.Internal())
	if err != nil || d.Publisher.Name != "NHS England" || d.Publisher.URL != "" {
		t.Errorf("the new dataset's publisher: %+v (err %v)", d.Publisher, err)
	}

	// An organisation's first dataset names it; without a name it is
	// refused, naming the field, and nothing is stored.
	newcomer := publisher.Actor{Username: "nia", Name: "Nia New", Roles: []publisher.Role{publisher.RolePublisher}, Organisation: "new-trust"}
	first := submission(t, goodCSV)
	first.Dataset.Slug, first.Dataset.Publisher = "new-waits", publisher.PublisherSpec{Slug: "new-trust"}
	_, err = e.svc.Submit(ctx, newcomer, first, nil)
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || !strings.Contains(err.Error(), "dataset.publisher.name") || !strings.Contains(err.Error(), "new-trust") {
		t.Fatalf("a first dataset without the organisation's name: got %v, want a rejection naming dataset.publisher.name", err)
	}
	if _, err := e.cat.EnsurePublisher(ctx, catalogue.Publisher{Slug: "new-trust"}); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("the refused submission stored a publisher: %v", err)
	}
	first.Dataset.Publisher.Name = "New Trust"
	if _, err := e.svc.Submit(ctx, newcomer, first, nil); err != nil {
		t.Fatal(err)
	}
	if got := nameOf("new-trust"); got != "New Trust" {
		t.Errorf("a first dataset's publisher is called %q, want %q", got, "New Trust")
	}

	// Only an administrator renames, and the audit log records it.
	renamed := catalogue.Publisher{Slug: "nhs-england", Name: "NHS England (renamed)", URL: "https://www.england.nhs.uk/"}
	if err := e.svc.RenamePublisher(ctx, pub, renamed); !errors.Is(err, publisher.ErrForbidden) {
		t.Errorf("a publisher renaming its organisation: got %v, want ErrForbidden", err)
	}
	if err := e.svc.RenamePublisher(ctx, admin, catalogue.Publisher{Slug: "nobody", Name: "Nobody"}); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("renaming a publisher that does not exist: got %v, want ErrNotFound", err)
	}
	before, err := e.svc.VerifyAuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RenamePublisher(ctx, admin, renamed); err != nil {
		t.Fatal(err)
	}
	if got := nameOf("nhs-england"); got != renamed.Name {
		t.Errorf("after the administrator's rename the publisher is called %q", got)
	}
	after, err := e.svc.VerifyAuditLog(ctx)
	if err != nil || after.Seq != before.Seq+1 {
		t.Errorf("the rename added no audit entry: head %d before, %d after (err %v)", before.Seq, after.Seq, err)
	}
}

// A dataset's title is needed only to create it: a later release of an
// existing dataset may leave it out.
func TestDatasetTitleOnlyForANewDataset(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := submission(t, goodCSV)
	first.Dataset.Title = ""
	if _, err := e.svc.Submit(ctx, pub, first, nil); !errors.As(err, new(*publisher.Rejection)) || !strings.Contains(err.Error(), "dataset.title") {
		t.Fatalf("a new dataset without a title: %v, want a rejection naming dataset.title", err)
	}
	r := ok(e.svc.Submit(ctx, pub, submission(t, goodCSV), nil))(t).Release
	ok(e.svc.Cancel(ctx, pub, r.ID, "making room for the next version"))(t)
	later := submission(t, goodCSV)
	later.Dataset.Title = ""
	if _, err := e.svc.Submit(ctx, pub, later, nil); err != nil {
		t.Errorf("a later release of an existing dataset without the dataset's title: %v", err)
	}
}
