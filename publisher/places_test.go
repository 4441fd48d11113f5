package publisher_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/publisher"
)

const sitesHeader = "OrganisationID~OrganisationCode~OrganisationType~SubType~Sector~OrganisationStatus~IsPimsManaged~OrganisationName~Address1~Address2~Address3~City~County~Postcode~Latitude~Longitude~ParentODSCode~ParentName~Phone~Email~Website~Fax\r\n"

func TestImportHospitalSitesReadsWindows1252(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// "St Mary\x92s" is St Mary's with a Windows-1252 right quote.
	file := sitesHeader +
		"1~RR801~Hospital~Hospital~NHS Sector~Visible~True~Leeds General Infirmary~~Great George Street~~Leeds~West Yorkshire~LS1 3EX~53.8017~-1.5521~RR8~Leeds Teaching Hospitals NHS Trust~0113 243 2799~~~\r\n" +
		"2~RJ122~Hospital~Hospital~NHS Sector~Visible~True~St Mary\x92s Hospital~~Praed Street~~London~~W2 1NY~51.517~-0.174~RJ1~Guy's~~~~\r\n"
	report, err := e.svc.ImportHospitalSites(ctx, strings.NewReader(file), "sites.csv", int64(len(file)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.Counts["Hospital sites"] != 2 {
		t.Errorf("report: %+v", report)
	}
	o, err := e.cat.GetOrganisation(ctx, "RJ122", catalogue.Internal())
	if err != nil || o.Name != "St Mary’s Hospital" || o.Type != catalogue.TypeHospitalSite || o.ParentCode != "RJ1" ||
		o.Location == nil || o.Location.Lat != 51.517 || o.LocationSource != "the hospital site" {
		t.Errorf("RJ122: %v %+v", err, o)
	}
	// A bad latitude is refused with its row and column, and nothing is stored.
	bad := sitesHeader + "3~RX101~Hospital~Hospital~NHS Sector~Visible~True~Queen's Medical Centre~~Derby Road~~Nottingham~~NG7 2UH~253.1~-1.18~RX1~Nottingham~~~~\r\n"
	_, err = e.svc.ImportHospitalSites(ctx, strings.NewReader(bad), "bad.csv", int64(len(bad)), nil)
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || len(rej.Files) == 0 || rej.Files[0].Row != 2 || rej.Files[0].Field != "Latitude" {
		t.Errorf("a latitude of 253: %v", err)
	}
	if _, err := e.cat.GetOrganisation(ctx, "RX101", catalogue.Internal()); !errors.Is(err, catalogue.ErrNotFound) {
		t.Errorf("a refused file stored a site: %v", err)
	}
}

func TestImportOutcodesAndTrustLocations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	n, err := e.svc.ImportOutcodes(ctx, strings.NewReader("id,outcode,latitude,longitude,\n1,TS18,54.5592,-1.3266,\n2,LS9,53.80,-1.51,\n"), "outcodes.csv")
	if err != nil || n != 2 {
		t.Fatalf("outcodes: %d %v", n, err)
	}
	got, err := e.cat.Outcodes(ctx)
	if err != nil || got["TS18"].Lat != 54.5592 {
		t.Errorf("stored outcodes: %v %v", got, err)
	}
	_, err = e.svc.ImportOutcodes(ctx, strings.NewReader("id,outcode,latitude,longitude,\n1,TS18,north,-1.3,\n"), "bad.csv")
	var rej *publisher.Rejection
	if !errors.As(err, &rej) || rej.Files[0].Row != 2 || rej.Files[0].Column != 3 || rej.Files[0].Field != "latitude" {
		t.Errorf("a latitude of north: %v", err)
	}
	if _, err := e.svc.ImportOutcodes(ctx, strings.NewReader("code,lat\nTS18,1\n"), "wrong.csv"); !errors.As(err, &rej) || rej.Files[0].Field != "outcode" {
		t.Errorf("a file without an outcode column: %v", err)
	}
	// A trust is placed at its headquarters' postcode.
	if err := e.cat.PutOrganisations(ctx, []catalogue.Organisation{{Code: "RR8", Name: "LEEDS TEACHING HOSPITALS NHS TRUST", Type: catalogue.TypeNHSTrust,
		Status: catalogue.StatusActive, Postcode: "LS9 7TF", InDirectory: true, Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	placed, err := e.svc.ImportTrustLocations(ctx, strings.NewReader("pcds,lat,long\nLS9 7TF,53.8047,-1.5206\nAB1 2CD,57.1,-2.1\n"), "hq.csv")
	if err != nil || placed != 1 {
		t.Fatalf("trust locations: %d %v", placed, err)
	}
	o, _ := e.cat.GetOrganisation(ctx, "RR8", catalogue.Internal())
	if o.Location == nil || o.Location.Lon != -1.5206 || o.LocationSource != "the trust's headquarters" {
		t.Errorf("RR8: %+v", o)
	}
	// Re-importing the directory keeps the location.
	if err := e.cat.PutOrganisations(ctx, []catalogue.Organisation{{Code: "RR8", Name: "LEEDS TEACHING HOSPITALS NHS TRUST", Type: catalogue.TypeNHSTrust,
		Status: catalogue.StatusActive, Postcode: "LS9 7TF", InDirectory: true, Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	if o, _ := e.cat.GetOrganisation(ctx, "RR8", catalogue.Internal()); o.Location == nil {
		t.Error("re-importing the directory lost the trust's location")
	}
}

func TestOutcode(t *testing.T) {
	for in, want := range map[string]string{"TS18 1HU": "TS18", "ts181hu": "TS18", "W1A 1AA": "W1A", "EC1A 1BB": "EC1A", "M1 1AE": "M1", "nonsense": "", "": ""} {
		if got := publisher.Outcode(in); got != want {
			t.Errorf("Outcode(%q) = %q, want %q", in, got, want)
		}
	}
}
