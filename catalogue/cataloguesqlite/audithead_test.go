package cataloguesqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
)

func TestAuditHeadIsRecordedOnceAtPublication(t *testing.T) {
	ctx := context.Background()
	s, db, _ := openStore(t)
	_, r := fixture(t, s)
	record := func(h catalogue.ChainHead) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := s.InTx(tx).RecordAuditHead(ctx, r.ID, h); err != nil {
			return err
		}
		return tx.Commit()
	}
	head := catalogue.ChainHead{Seq: 12, Hash: sha('c')}

	if err := record(head); !errors.Is(err, catalogue.ErrConflict) {
		t.Errorf("a head recorded for a draft: %v, want ErrConflict", err)
	}
	if err := record(catalogue.ChainHead{}); !errors.Is(err, catalogue.ErrInvalid) {
		t.Errorf("an empty head: %v, want ErrInvalid", err)
	}
	publish(t, s, r, t0)
	if err := record(head); err != nil {
		t.Fatalf("record the head at publication: %v", err)
	}
	if err := record(catalogue.ChainHead{Seq: 13, Hash: sha('d')}); !errors.Is(err, catalogue.ErrConflict) {
		t.Errorf("a second head: %v, want ErrConflict (a head is written once)", err)
	}
	got, err := s.ReleaseByID(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AuditHead != head {
		t.Errorf("release's head %+v, want %+v", got.AuditHead, head)
	}
	// The published view carries it, as manifests and pages read it.
	pub, err := catalogue.Published(s, t0.Add(time.Minute)).Release(ctx, "waits", 1)
	if err != nil {
		t.Fatal(err)
	}
	if pub.AuditHead != head {
		t.Errorf("published view's head %+v, want %+v", pub.AuditHead, head)
	}
}
