package publisher_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
)

// Area names come from the files that have them; the first file wins, a
// name in another form is no conflict, a different name is reported and
// kept on the area's record, and areas no file names keep their codes.
func TestImportAreaNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	row := func(code, status, region, icb string) string {
		cells := make([]string, 27)
		cells[0], cells[1], cells[2], cells[3] = code, "PRACTICE "+code, region, icb
		cells[10], cells[12], cells[25] = "19740401", status, "4"
		return `"` + strings.Join(cells, `","`) + `"` + "\n"
	}
	ods := row("A81001", "A", "Y63", "QHM") + row("A81002", "A", "Y63", "QHM") + row("A82001", "A", "Y62", "QE1") +
		row("A81003", "C", "Y54", "Q74") + row("W00001", "A", "W00", "Q99")
	if _, err := e.svc.ImportPractices(ctx, strings.NewReader(ods), "epraccur.csv", int64(len(ods)), nil); err != nil {
		t.Fatal(err)
	}
	payments := "\ufeffNHS England (Region) code,NHS England (Region) Name,CCG Code,Sub ICB NAME,Code,CCG NAME,Practice Code,Practice Name\n" +
		"Y63,NORTH EAST AND YORKSHIRE COMM REGION,16C,NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C,U1,PCN,A81001,X\n" +
		"Y63,NORTH EAST AND YORKSHIRE COMM REGION,00K,NHS NORTH EAST AND NORTH CUMBRIA ICB - 00K,U1,PCN,A81002,X\n" +
		"Y62,NORTH WEST COMMISSIONING REGION,01K,NHS LANCASHIRE AND SOUTH CUMBRIA ICB - 01K,U2,PCN,A82001,X\n" +
		"Y54,OLD REGION,00K,NHS OLD ICB - 00K,U3,PCN,A81003,X\n" // a closed practice: not counted
	cqc := `"Practice.Code","Year","ICB_NAME"` + "\n" +
		`"A81001",2016,"North East and North Cumbria"` + "\n" + // the same name in another form
		`"A82001",2016,"Cumbria and Lancashire"` + "\n" + // a different name: a conflict
		`"W00001",2016,"NA"` + "\n"
	report, err := e.svc.ImportAreaNames(ctx, []publisher.AreaNameFile{{Name: "gp-payments.csv", R: strings.NewReader(payments)}, {Name: "cqc.csv", R: strings.NewReader(cqc)}})
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{
		"Y63": "NORTH EAST AND YORKSHIRE COMM REGION", "QHM": "NHS NORTH EAST AND NORTH CUMBRIA ICB",
		"Y62": "NORTH WEST COMMISSIONING REGION", "QE1": "NHS LANCASHIRE AND SOUTH CUMBRIA ICB",
		"Y54": "", "Q74": "", "Q99": "", "W00": "",
	} {
		o, err := e.cat.GetOrganisation(ctx, code, catalogue.Internal())
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if o.Name != want {
			t.Errorf("%s named %q, want %q", code, o.Name, want)
		}
	}
	notes := strings.Join(report.Notes, "\n")
	if !strings.Contains(notes, `QE1: "NHS LANCASHIRE AND SOUTH CUMBRIA ICB" (NHS payments to general practice (gp-payments.csv), 1 rows) chosen over "Cumbria and Lancashire" (CQC ratings of GP practices (cqc.csv), 1 rows)`) {
		t.Errorf("the conflict is not reported:\n%s", notes)
	}
	if strings.Contains(notes, "QHM") || strings.Count(notes, "name conflict") != 1 {
		t.Errorf("a name in another form reported as a conflict:\n%s", notes)
	}
	if !strings.Contains(notes, "Q74, Q99, W00, Y54") {
		t.Errorf("unnamed areas not listed:\n%s", notes)
	}
	qe1, _ := e.cat.GetOrganisation(ctx, "QE1", catalogue.Internal())
	var details []string
	for _, d := range qe1.Details {
		details = append(details, d.Label+": "+d.Value)
	}
	if got := strings.Join(details, "; "); !strings.Contains(got, "Name from: NHS payments to general practice (gp-payments.csv)") ||
		!strings.Contains(got, "Other name in the data: Cumbria and Lancashire (CQC ratings of GP practices (cqc.csv), 1 rows)") {
		t.Errorf("QE1's record does not say where its name came from and what else was given: %s", got)
	}

	// Importing again gives the same names and does not pile up details.
	if _, err := e.svc.ImportAreaNames(ctx, []publisher.AreaNameFile{{Name: "gp-payments.csv", R: strings.NewReader(payments)}, {Name: "cqc.csv", R: strings.NewReader(cqc)}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.cat.GetOrganisation(ctx, "QE1", catalogue.Internal()); len(again.Details) != len(qe1.Details) || again.Name != qe1.Name {
		t.Errorf("a second import changed QE1: %+v, was %+v", again, qe1)
	}

	// A file of another layout is refused, naming it.
	if _, err := e.svc.ImportAreaNames(ctx, []publisher.AreaNameFile{{Name: "other.csv", R: strings.NewReader("a,b\n1,2\n")}}); !errors.Is(err, publisher.ErrInvalid) || !strings.Contains(err.Error(), "other.csv") {
		t.Errorf("an unknown layout: %v", err)
	}
}
