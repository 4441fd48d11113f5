package registersqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/datasets/sqlitedb"
	"github.com/candour/candour/publisher/auditlog/auditsqlite"
	"github.com/candour/candour/publisher/register"
	"github.com/candour/candour/publisher/register/registersqlite"
)

var update = os.Getenv("UPDATE_GOLDEN") != ""

func TestRegister(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "candour.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlitedb.Migrate(ctx, db, auditsqlite.Migrations(),
		registersqlite.Migrations()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	svc := register.New(registersqlite.New(db), func() time.Time { return now })
	good := register.Entry{Recipient: "University of Leeds", Data: "Cancer waits, record level, 2024",
		Purpose: "Service evaluation, with \"quotes\", and commas", LegalBasis: "UK GDPR Article 6(1)(e)",
		SharedOn: catalogue.NewDate(2026, 1, 15), Classification: "pseudonymised", Agreement: "DSA-2026-001"}
	for field, edit := range map[string]func(*register.Entry){
		"recipient":      func(e *register.Entry) { e.Recipient = " " },
		"legal-basis":    func(e *register.Entry) { e.LegalBasis = "" },
		"shared-on":      func(e *register.Entry) { e.SharedOn = catalogue.NewDate(2027, 1, 1) },
		"classification": func(e *register.Entry) { e.Classification = "secret" },
	} {
		e := good
		edit(&e)
		_, err := svc.Add(ctx, "ada", e)
		var fe *register.FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, register.ErrInvalid) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	if _, err := svc.Add(ctx, "ada", good); err != nil {
		t.Fatal(err)
	}
	older := good
	older.Recipient, older.SharedOn, older.Classification, older.Agreement = "Healthwatch", catalogue.NewDate(2025, 6, 1), "anonymised", ""
	if _, err := svc.Add(ctx, "ada", older); err != nil {
		t.Fatal(err)
	}
	entries, err := svc.List(ctx)
	if err != nil || len(entries) != 2 || entries[0].Recipient != "University of Leeds" {
		t.Fatalf("list: %+v %v", entries, err)
	}
	var buf bytes.Buffer
	if err := register.WriteCSV(&buf, entries); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "register.csv.golden")
	if update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.Bytes(), want)
	}
	head, err := auditsqlite.New(db).Verify(ctx)
	if err != nil || head.Seq != 2 {
		t.Errorf("audit log after two entries: %+v %v", head, err)
	}
}
