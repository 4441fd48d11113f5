package site

import (
	"bytes"
	"encoding/json"
	"html/template"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/catalogue"
	"github.com/candour/candour/catalogue/feedback"
	"github.com/candour/candour/content"
	"github.com/candour/candour/indicators"
	"github.com/candour/candour/indicators/audit"
	"github.com/candour/candour/publisher"
	"github.com/candour/candour/publisher/accounts"
	"github.com/candour/candour/publisher/auditlog"
	"github.com/candour/candour/publisher/disclosure"
)

// sampleLayout is the frame every sample page uses.
func sampleLayout(t *testing.T, title string) layout {
	t.Helper()
	lib, err := content.Default()
	if err != nil {
		t.Fatal(err)
	}
	return layout{SiteName: "Candour", Title: title, Section: "datasets", FooterPages: lib.Pages(), Version: "test",
		Breadcrumbs: []crumb{{"/", "Home"}}}
}

func signedIn(l layout) layout {
	l.SignedIn, l.CSRF = true, "csrf-token-xyz"
	return l
}

var sess = Session{Actor: publisher.Actor{Username: "ann", Name: "Ann Reviewer", Roles: []publisher.Role{publisher.RoleReviewer}}, CSRF: "csrf-token-xyz"}

// samplePages gives every registered template a representative page.
func samplePages(t *testing.T) map[string]any {
	published := time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)
	target, v, lo, hi := 75.0, 86.36, 84.2, 88.3
	areaNum, areaDen := 1234.0, 1500.0
	fds := indicators.Definition{ID: "cancer-faster-diagnosis", Title: "Told within 28 days", Description: "d", Unit: indicators.UnitPercentage,
		Polarity: indicators.HigherIsBetter, Method: indicators.MethodWilson, Headline: true,
		Benchmark: indicators.Benchmark{Kind: "target", Value: &target, Label: "Constitutional standard: 75%"}}
	fdsObs := indicators.Observation{Indicator: fds.ID, Organisation: "RR8", Period: "January 2026", Value: &v, Lower95: &lo, Upper95: &hi,
		Benchmark: &target, Comparison: indicators.Better}
	inReview := catalogue.Release{ID: 7, Dataset: catalogue.DatasetRef{Slug: "waits", Title: "Waits"}, Version: 3,
		Title: "Waits, February 2026", State: catalogue.StateInReview, SubmittedBy: "pat", DisclosureSummary: "3 cells suppressed under the NHS Digital rule.",
		Files: []catalogue.File{{Name: "waits.csv", Role: catalogue.RolePublic, SHA256: strings.Repeat("ef", 32), Rows: 10},
			{Name: "waits.csv", Role: catalogue.RoleOriginal, SHA256: strings.Repeat("01", 32), Rows: 10}}}
	release := catalogue.Release{ID: 1, DatasetID: 1, Dataset: catalogue.DatasetRef{Slug: "waits", Title: "Waits"},
		Version: 2, Title: "Waits, January 2026", PeriodLabel: "January 2026",
		PeriodStart: catalogue.NewDate(2026, 1, 1), PeriodEnd: catalogue.NewDate(2026, 1, 31),
		State: catalogue.StatePublished, PublishedAt: published, ContentVisible: true,
		Quality: catalogue.Quality{Coverage: "All providers in England"}}
	dataset := catalogue.Dataset{ID: 1, Slug: "waits", Title: "Waits", Summary: "How long people wait.",
		Publisher: catalogue.Publisher{Name: "NHS England"}, Licence: catalogue.DefaultLicence,
		Status: catalogue.DatasetPublished, Topics: []string{"Cancer"}, Frequency: "Monthly",
		Inventory: &catalogue.InventoryEntry{Source: "an inventory", Name: "Waits", OGL: "yes"}}
	licence, _ := catalogue.LookupLicence(catalogue.DefaultLicence)
	resource, _ := json.Marshal(map[string]any{"name": "waits", "path": "waits.csv", "schema": map[string]any{
		"fields": []map[string]any{{"name": "Org Code", "type": "string"}}}})
	file := catalogue.File{Name: "waits.csv", Role: catalogue.RolePublic, Encoding: "utf-8", SHA256: strings.Repeat("ab", 32),
		Bytes: 2753710, Rows: 17361, Resource: resource}
	practice := catalogue.Organisation{Code: "A81001", Name: "THE DENSHAM SURGERY", Type: catalogue.TypeGPPractice,
		Status: catalogue.StatusClosed, Address: []string{"THE HEALTH CENTRE"}, Postcode: "TS18 1HU",
		Opened: catalogue.NewDate(1974, 4, 1), Closed: catalogue.NewDate(2020, 3, 31), InDirectory: true, Source: "ODS epraccur",
		Details: []catalogue.Detail{{Label: "Prescribing setting (ODS code)", Value: "4"}}}
	unknown := catalogue.Organisation{Code: "NV1", Name: "INHEALTH LIMITED", Type: catalogue.TypeUnknown, Status: catalogue.StatusUnknown}
	auditDef := audit.Definition{ID: "hip-audit", Name: "Hip Audit", ClinicalArea: "Orthopaedics", AuditBody: "Audit Body", Period: "2024/25",
		Coverage: "All hospitals", Methodology: "m", File: "hips.csv", MinCases: 20, MinCasesReason: "too few to compare", Synthetic: true,
		Measures: []audit.Measure{
			{ID: "deaths", Title: "Deaths within 30 days", Outcome: "death within 30 days", Statistic: audit.Ratio, Limits: audit.LimitExactPoisson, RiskModel: "logistic.", Polarity: indicators.LowerIsBetter},
			{ID: "returns", Title: "Returns to theatre", Outcome: "return to theatre", Statistic: audit.Proportion, Limits: audit.LimitNormal, Polarity: indicators.LowerIsBetter}}}
	if err := auditDef.Validate(); err != nil {
		t.Fatal(err)
	}
	cases, deaths, expected, ratio, adjusted := 200, 40, 20.5, 40/20.5, 0.195
	alarm := audit.Outcome{Release: 3, Audit: "hip-audit", Measure: "deaths", Period: "2024/25", Level: audit.Hospital, Code: "SYN-H001",
		Name: "Synthetic Hospital 001", Provider: "SYN-H001", ProviderName: "Synthetic Hospital 001", Cases: &cases, Observed: &deaths,
		Expected: &expected, Ratio: &ratio, AdjustedRate: &adjusted, Value: &ratio, Precision: expected, Target: 1,
		Limits: &audit.Limits{Lower95: 0.61, Upper95: 1.54, Lower998: 0.45, Upper998: 1.90}, Status: audit.Alarm, High: true}
	small := audit.Outcome{Measure: "deaths", Period: "2024/25", Level: audit.Hospital, Code: "SYN-H002", Name: "Synthetic Hospital 002",
		Provider: "SYN-H002", Reason: "Fewer than 20 cases (7): too few to compare"}
	published3 := &publishedAudit{Released: audit.Released{Release: 3, Dataset: "hip-data", Definition: auditDef}, Periods: []string{"2023/24", "2024/25"}}
	notice := &publisher.OutlierNotice{Definition: auditDef, Outcomes: []audit.Outcome{alarm}, ListedAt: published, NotifiedAt: published,
		Responses: []publisher.OutlierResponse{{Provider: "SYN-H001", Measure: "deaths", Period: "2024/25", Level: audit.Hospital, Code: "SYN-H001",
			Kind: publisher.ResponseExplanation, Text: "Our case-mix is unusual", By: "chk", At: published}}}
	densham := catalogue.SearchDocument{ID: "organisation:A81001", Kind: catalogue.KindOrganisation, Title: "The Densham Surgery",
		URL: "/organisations/A81001", Codes: []string{"A81001"}, Text: "GP practice <b>open</b>."}
	return map[string]any{
		"changes": changesPage{layout: sampleLayout(t, "What changed"), Dataset: dataset, From: release, To: release,
			DiffView: DiffView{ID: "changes", Diff: releaseDiff{File: "waits.csv", KeyFields: []string{"Org Code"}, Added: 1, Changed: 1},
				Shown: []rowChange{{Change: "changed", Key: map[string]string{"Org Code": "RR8"}, Cells: []cellChange{{Field: "Patients", Old: "*", New: "12"}}},
					{Change: "added", Key: map[string]string{"Org Code": "RX1"}}}}, CSV: "/datasets/waits/changes?from=1&to=2&format=csv"},
		"api": apiPage{layout: sampleLayout(t, "Public API"), Routes: apiRoutes},
		"search": searchPage{layout: sampleLayout(t, "Search: densham"), Query: "densham", Total: 41,
			Hits: []searchHitView{{SearchHit: catalogue.SearchHit{Document: densham}, KindLabel: "Organisation",
				Snippet: marked("GP practice <b>open</b> in Densham.", [][2]int{{24, 31}})}},
			Facets: []facetView{{Name: "kind", Label: "Kind", Values: []facetValueView{{Value: "organisation", Label: "Organisation", Count: 41, Href: "/search?q=densham&kind=organisation"}}}},
			Active: []facetValueView{{Label: "Kind: Organisation", Href: "/search?q=densham"}}, SortHref: map[string]string{"": "/search?q=densham", "updated": "/search?q=densham&sort=updated"},
			Pager: pager{Page: 1, Pages: 3, Total: 41, Next: "/search?q=densham&page=2"}, Clear: "/search?q=densham",
			Near: &nearby{Place: "TS18 1HU", Outcode: "TS18", Practices: []catalogue.SearchHit{{Document: densham, DistanceKM: 0.4}}}},
		"audits": auditListPage{layout: sampleLayout(t, "Clinical audits"), Audits: []*publishedAudit{published3}},
		"audit": auditPage{layout: sampleLayout(t, "Hip Audit"), Audit: published3, Methodology: "<p>How it is done.</p>",
			Selection: auditSelection{Measure: auditDef.Measures[0], Level: audit.Hospital, Period: "2024/25"}, Levels: audit.Levels,
			Funnel: audit.Funnel{Units: 2, Classified: 1, Alarms: 1, NationalRate: 0.1, CasesTotal: 200, EventsTotal: 40},
			Method: auditDef.Measures[0].Describe(), Rows: []auditRow{{Outcome: alarm, URL: "/audits/hip-audit/units/hospital/SYN-H001"}},
			NotShown: []auditRow{{Outcome: small}}, Summary: "2 hospital units in 2024/25", Download: "/audits/hip-audit/outcomes.csv?measure=deaths"},
		"audit_unit": unitPage{layout: sampleLayout(t, "Synthetic Hospital 001"), Audit: published3, Level: audit.Hospital, Code: "SYN-H001",
			Name: "Synthetic Hospital 001", Providers: []string{"Synthetic Hospital 001 (SYN-H001)"}, Download: "/audits/hip-audit/units/hospital/SYN-H001.csv",
			Measures: []unitMeasure{{Measure: auditDef.Measures[0], Rows: []auditRow{{Outcome: alarm, Position: alarm.Position(auditDef.Measures[0])}},
				Latest: alarm.Position(auditDef.Measures[0])}}},
		"home": homePage{layout: sampleLayout(t, "Home"), Published: 4, Listed: 24, Latest: []catalogue.Release{release},
			Trusts: 203, Practices: 6618},
		"datasets": datasetsPage{layout: sampleLayout(t, "Datasets"), Datasets: []catalogue.DatasetSummary{{Dataset: dataset, Releases: 1, Latest: &release}},
			Filters: []statusFilter{{Label: "All", Href: "/datasets", Count: 1, Active: true}}, Pager: pager{Page: 1, Pages: 2, Total: 51, Next: "/datasets?page=2"}},
		"dataset": datasetPage{layout: sampleLayout(t, "Waits"), Dataset: dataset, Description: "<p>About waits.</p>",
			Licence: licence, Releases: []catalogue.Release{release}, Latest: &release},
		"release": releasePage{layout: sampleLayout(t, release.Title), Release: release, Dataset: dataset, Licence: licence,
			ChangeNotes: template.HTML("<p>Nothing changed.</p>"),
			Files:       []fileView{{File: file, URL: "/datasets/waits/releases/2/files/waits.csv", Columns: []column{{Name: "Org Code", Type: "string"}}}},
			Preview:     &preview{File: "waits.csv", Header: []string{"Org Code"}, Rows: [][]string{{"RR8"}}, Shown: 1, Total: 17361}},
		"organisations": organisationsPage{layout: sampleLayout(t, "Organisations"), Organisations: []catalogue.Organisation{practice, unknown},
			Types:   []typeFilter{{Type: catalogue.TypeGPPractice, Label: "GP practices", Href: "/organisations?type=gp-practice", Open: 1, All: 2}},
			Heading: "Organisations", Pager: pager{Page: 1, Pages: 1, Total: 2}},
		"organisation": organisationPage{layout: sampleLayout(t, practice.Name), Organisation: practice,
			Parent: &catalogue.Organisation{Code: "QHM", Type: catalogue.TypeICB, InDirectory: true}, Releases: []catalogue.Release{release},
			Scorecard:  indicators.Scorecard{Organisation: "A81001", Lines: []indicators.Line{{Definition: fds, Latest: fdsObs, Series: []indicators.Point{indicators.PointOf(fdsObs)}}}},
			AuditLinks: []auditLink{{Name: "Hip Audit", URL: "/audits/hip-audit/units/hospital/A81001", Period: "2024/25", Level: audit.Hospital, Flagged: 2}},
			Feedback:   sampleFeedback},
		"content": contentPage{layout: sampleLayout(t, "About"), Body: "<p>About.</p>"},
		"error":   errorPage{layout: sampleLayout(t, "Page not found"), Status: 404, Heading: "Page not found", Message: "Check the address."},
		"login":   loginPage{layout: sampleLayout(t, "Sign in"), CSRF: "tok123", Next: "/workspace", Username: "ann", Error: "The username or password is not right."},
		"workspace": workspacePage{layout: signedIn(sampleLayout(t, "Workspace")), Session: sess,
			Releases: []catalogue.Release{inReview}},
		"workspace_progress": progressPage{layout: signedIn(sampleLayout(t, "Checking your submission")), Step: "checking data.csv",
			StepDone: 3_000_000, Total: 10_000_000, Steps: []string{"checking data.csv"}, Elapsed: 4 * time.Second},
		"workspace_account": accountPage{layout: signedIn(sampleLayout(t, "Your account")), NewToken: "cnd_secret123",
			User:   accounts.User{Username: "pam", Name: "Pam Publisher", Roles: []accounts.Role{accounts.RolePublisher}, Organisation: "nhs-x"},
			Tokens: []accounts.APIToken{{ID: 3, Label: "nightly upload", CreatedAt: published}, {ID: 2, Label: "old", Revoked: true, CreatedAt: published}}},
		"workspace_accounts": accountsPage{layout: signedIn(sampleLayout(t, "Accounts")), Roles: accounts.Roles, Error: "Username: \"ann\" is taken.",
			Form:   map[string]string{"username": "ann"},
			Users:  []accounts.User{{Username: "ann", Name: "Ann Reviewer", Roles: []accounts.Role{accounts.RoleReviewer}, CreatedAt: published, Disabled: true}},
			Tokens: []accountToken{{APIToken: accounts.APIToken{ID: 3, Label: "nightly upload", CreatedAt: published}, Username: "pam"}}},
		"workspace_release": workspaceReleasePage{layout: signedIn(sampleLayout(t, inReview.Title)), Session: sess,
			Indicators: []reviewIndicator{{Definition: sampleBreakdown(t).Definition, Period: "2024",
				Breakdowns: []breakdownTable{newBreakdownTable("review-breakdown-cqc-deprivation", 4, sampleBreakdown(t).Definition, sampleBreakdown(t).Breakdown, sampleBreakdown(t).Result, "2024")}}},
			Detail: publisher.Detail{Release: inReview, ApprovalsNeeded: 2,
				Reviews:    []publisher.Review{{Reviewer: "bob", ReviewerName: "Bob Reviewer", Decision: publisher.DecisionApproveWithChange, Change: "Round the small counts", At: published}},
				Queries:    []publisher.Query{{ID: 4, Organisation: "RR8", RaisedBy: "chk", Text: "Our figure looks low", RaisedAt: published}},
				AccessList: []publisher.Access{{Username: "chk", Name: "Chris Checker", Role: publisher.RoleProviderChecker, First: published, Last: published}},
				Events:     []catalogue.Event{{To: catalogue.StateDraft, At: published, Actor: "pat"}}},
			Report:         &disclosure.Report{Findings: []disclosure.Finding{{Kind: "free-text", File: "waits.csv", Row: 3, Column: 2, Field: "Notes", Message: "free text for reviewers' attention"}}},
			Considerations: publisher.Considerations, FilesJSON: `[{"name":"waits.csv"}]`,
			Can: permissions{Review: true, ResolveQuery: true, ViewOriginal: true}, Outliers: notice},
		"workspace_preview": previewPage{layout: signedIn(sampleLayout(t, "Preview")), Release: inReview, Session: sess,
			Tables:   []publisher.PreviewTable{{File: "waits.csv", Header: []string{"Org Code", "Patients"}, Rows: [][]string{{"RR8", "*"}}}},
			Outliers: notice, Responses: publisher.ResponseKinds},
		"workspace_submit": submitPage{layout: signedIn(sampleLayout(t, "Submit a release")), Session: sess, Form: map[string]string{"title": "Waits, March"},
			Rejection: &publisher.Rejection{Fields: []publisher.FieldProblem{{Field: "release.periodEnd", Message: "before the period start"}}}},
		"calendar": calendarPage{layout: sampleLayout(t, "Release calendar"), Upcoming: []catalogue.CalendarEntry{{Dataset: catalogue.DatasetRef{Slug: "shmi", Title: "SHMI"},
			PeriodLabel: "Year to June 2026", ConfirmedAt: time.Date(2027, 1, 14, 9, 30, 0, 0, time.UTC), Status: catalogue.CalendarAnnounced,
			Changes: []catalogue.DateChange{{From: "January 2027 (provisional)", To: "9:30am on Thursday 14 January 2027", Reason: "Data supplier delay"}}}}},
		"transparency": transparencyPage{layout: sampleLayout(t, "Transparency"), Head: auditlog.Head{Seq: 42, Hash: strings.Repeat("cd", 32)},
			Records: []publisher.PublicRecord{{Release: release, Approvals: []publisher.PublicApproval{{Name: "Ann Reviewer", At: published}}}}},
		"indicators": indicatorListPage{layout: sampleLayout(t, "Indicators"), Definitions: []indicators.ReleasedDefinition{{Release: 1, Definition: fds}}},
		"indicator": indicatorPage{layout: sampleLayout(t, fds.Title), Definition: fds, Period: "January 2026",
			Rows:     []indicatorRow{{Organisation: catalogue.Organisation{Code: "RR8", Name: "LEEDS", Type: catalogue.TypeNHSTrust}, Observation: fdsObs}},
			NotShown: []indicatorRow{{Organisation: catalogue.Organisation{Code: "RA2"}, Observation: indicators.Observation{Reason: "too few to show reliably (10, fewer than 20)"}}},
			Summary:  "1 organisations have a value for January 2026."},
		"breakdown": sampleBreakdown(t),
		"map":       sampleMap(t, fds, fdsObs),
		"compare": comparePage{layout: sampleLayout(t, "Compare"), Link: "/compare?org=RR8&org=RX1",
			Columns: []compareColumn{{Organisation: catalogue.Organisation{Code: "RR8", Name: "LEEDS"}}, {Organisation: catalogue.Organisation{Code: "RX1", Name: "NOTTINGHAM"}}},
			Rows:    []compareRow{{Definition: fds, Cells: []*indicators.Observation{&fdsObs, nil}}}},
		"publisher": publisherPage{layout: sampleLayout(t, "NHS England"), Slug: "nhs-england", Name: "NHS England",
			Datasets: []catalogue.Dataset{{Slug: "ae-waits", Title: "A&E waiting times"}}, JSONLD: `{"name":"NHS England"}`},
		"areas": areaIndexPage{layout: sampleLayout(t, "Local areas"), Regions: []areaEntry{{Code: "Y63", Name: "North East and Yorkshire Comm Region",
			Type: catalogue.TypeRegion, Practices: 900, Trusts: 30, ICBs: []areaEntry{{Code: "QHM", Name: "NHS North East and North Cumbria ICB", Type: catalogue.TypeICB, Practices: 340, Trusts: 11}}}}},
		"area": areaPage{layout: sampleLayout(t, "NHS North East and North Cumbria ICB"), PackURL: "/areas/QHM/pack.zip", areaData: areaData{
			Area: catalogue.Organisation{Code: "QHM", Type: catalogue.TypeICB, Name: "NHS NORTH EAST AND NORTH CUMBRIA ICB"}, Name: "NHS North East and North Cumbria ICB",
			Region:    &areaEntry{Code: "Y63", Name: "North East and Yorkshire Comm Region", Type: catalogue.TypeRegion},
			Trusts:    []catalogue.Organisation{{Code: "RR7", Name: "GATESHEAD HEALTH NHS FOUNDATION TRUST", Type: catalogue.TypeNHSTrust}},
			Practices: []catalogue.Organisation{practice}, NameSource: "NHS payments to general practice (gp-payments.csv)",
			OtherNames: []string{"Cumbria (CQC ratings of GP practices (cqc.csv), 3 rows)"},
			Indicators: []indicators.AreaIndicator{{Definition: indicators.ReleasedDefinition{Definition: fds}, Period: "January 2026", Organisations: 11,
				Numerator: &areaNum, Denominator: &areaDen, Value: &v, Lower95: &lo, Upper95: &hi, England: &target, Comparison: indicators.Better},
				{Definition: indicators.ReleasedDefinition{Definition: fds}, Period: "January 2026", Organisations: 11, Unavailable: 2, Comparison: indicators.NotCompared,
					Reason: "not available: the figures of 2 of the area's 11 organisations are suppressed or missing"}},
			Feedback: []feedback.Distribution{{Source: feedback.Source{Name: "care-opinion", Title: "Care Opinion"}, Stars: [5]int{1, 0, 2, 3, 4}, Ratings: 10, Items: 12}}}},
		"register": registerPage{layout: sampleLayout(t, "Data release register"), Entries: sampleRegister},
		"workspace_feedback": feedbackPage{layout: signedIn(sampleLayout(t, "Patient feedback to moderate")), Organisation: "A81001",
			Held:  []feedbackItem{itemView(heldItem)},
			Found: sampleFeedback.Sources[0].Recent, Error: "Moderation reason: required: say why.",
			Form: feedbackForm{Source: "care-stories", ID: "41", Action: "hide"}},
		"register_form": registerFormPage{layout: signedIn(sampleLayout(t, "Add to the register")), Error: "recipient: required",
			Classifications: registerClassifications()},
	}
}

// sampleFeedback is an organisation's feedback from one source: three
// ratings and an unrated comment, the newest item with a response.
var sampleFeedback = &feedbackSection{Sources: []feedbackSource{{
	Distribution: feedback.Distribution{Source: feedback.Source{Name: "care-stories", Title: "Care Stories", Homepage: "https://stories.example/"},
		Stars: [5]int{0, 0, 0, 1, 2}, Ratings: 3, Items: 4},
	Stars: []starCount{{5, 2, "67%"}, {4, 1, "33%"}, {3, 0, "0%"}, {2, 0, "0%"}, {1, 0, "0%"}}, Average: "4.3", Unrated: 1,
	Chart: ratingsChart(feedback.Distribution{Stars: [5]int{0, 0, 0, 1, 2}, Ratings: 3}),
	Recent: []feedbackItem{itemView(feedback.Item{Source: "care-stories", ID: "41", Organisation: "A81001", Link: "https://stories.example/s/41",
		Published: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Rating: 5, Title: "Kind reception staff", Comment: "Seen on time.",
		Response: feedback.Response{Text: "Thank you.", Published: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)}, State: feedback.StateVisible})},
}}}

var heldItem = feedback.Item{Source: "care-stories", ID: "42", Organisation: "A81001", Link: "https://stories.example/s/42",
	Published: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Rating: 2, Comment: "My NHS number is 943 476 5919", State: feedback.StateHeld,
	Reason: "an NHS number"}

// sampleMap is one trust near a postcode, and one that cannot be placed.
func sampleMap(t *testing.T, d indicators.Definition, o indicators.Observation) mapPage {
	p := mapPage{layout: sampleLayout(t, "Map"), Choices: []indicators.ReleasedDefinition{{Release: 1, Definition: d}}, Indicator: d.ID, Definition: d,
		Period: "January 2026", Near: "LS1 4AP", Outcode: "LS1", KM: 15, NotPlaced: 1,
		Rows: []mapRow{{Organisation: catalogue.Organisation{Code: "RR8", Name: "LEEDS", Type: catalogue.TypeNHSTrust}, Observation: o,
			At: catalogue.LatLon{Lat: 53.8, Lon: -1.55}, Approximate: true, Source: "the centre of its postcode district, LS1", DistanceKM: 2.3}}}
	p.Groups = mapGroups(d, p.Rows)
	p.Summary = mapSummary(p)
	p.Chart = mapChart(p)
	return p
}

// sampleBreakdown is a rating broken down by deprivation quintile.
func sampleBreakdown(t *testing.T) breakdownPage {
	d := indicators.Definition{ID: "cqc-overall-rating", Title: "CQC rating", Description: "d", Unit: indicators.UnitCategory,
		Polarity: indicators.HigherIsBetter, Method: indicators.MethodCategory, Categories: []string{"Outstanding", "Good", "Requires improvement", "Inadequate"},
		Breakdowns: []indicators.Breakdown{{ID: "deprivation", Kind: indicators.BreakdownDeprivation, Field: "IMD_quintile", Label: "Deprivation quintile",
			Groups: []string{"1", "5"}, MostDeprived: "5", LeastDeprived: "1", Share: []string{"Outstanding", "Good"}}}}
	b := d.Breakdowns[0]
	f := func(x float64) *float64 { return &x }
	bench := 94.6
	res := indicators.BreakdownResult{ID: b.ID, Kind: b.Kind, Label: b.Label, Measure: d.MeasureTitle(b), Benchmark: &bench, BenchmarkLabel: "England", NotKnown: 76,
		Groups: []indicators.GroupValue{
			{Group: "1", Label: b.GroupLabel("1"), Organisations: 1275, Numerator: f(1209), Denominator: f(1275), Value: f(94.82), Lower95: f(93.4), Upper95: f(95.9), Comparison: indicators.Similar},
			{Group: "5", Label: b.GroupLabel("5"), Organisations: 1199, Excluded: 2, Numerator: f(1132), Denominator: f(1199), Value: f(94.41), Lower95: f(93.0), Upper95: f(95.6), Comparison: indicators.Similar},
		},
		Gap: &indicators.Gap{MostDeprived: "5", LeastDeprived: "1", Absolute: f(-0.41), Relative: f(0.9957), AbsoluteLower95: f(-2.2), AbsoluteUpper95: f(1.4), Method: "The absolute gap is…"}}
	table := newBreakdownTable("breakdown", 2, d, b, res, "2024")
	p := breakdownPage{layout: sampleLayout(t, "CQC rating by deprivation"), breakdownTable: table, Chart: groupChart(table.Measure, res)}
	return p
}

func TestEveryTemplateRenders(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	samples := samplePages(t)
	if len(samples) != len(pageNames) {
		t.Fatalf("%d samples for %d templates: give every template a sample", len(samples), len(pageNames))
	}
	// Text each page must show, proving its data reached the template.
	want := map[string][]string{
		"home":          {"6,618", "203", "Waits, January 2026"},
		"datasets":      {"1 dataset", "Page 2 of 2", "nhsuk-tag--green"},
		"dataset":       {"Open Government Licence v3.0", "Source: NHS England. Contains public sector information", "As written in the inventory", "All providers in England"},
		"release":       {"2.8 MB", "17,361", strings.Repeat("ab", 32), "1 January 2026 to 31 January 2026", "RR8", "Nothing changed."},
		"organisations": {"THE DENSHAM SURGERY", "Not in the national directory", "2 organisations"},
		"organisation": {"Closed on 31 March 2020", "TS18 1HU", "1 April 1974", "Integrated care board QHM", "Prescribing setting (ODS code)",
			"How it compares", "Told within 28 days:</strong> 86.4%. Better than the benchmark (Constitutional standard: 75%)",
			"/audits/hip-audit/units/hospital/A81001", "2 results outside the expected range",
			"What patients say", `<a href="https://stories.example/">Care Stories</a>`, "3 ratings, 4.3 stars out of 5 on average, and 1 comment without a rating",
			`<th scope="row" class="nhsuk-table__cell">5 stars</th><td class="nhsuk-table__cell nhsuk-table__cell--numeric">2</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">67%</td>`,
			"Kind reception staff", "rated 5 out of 5", "The provider replied on 3 March 2026:</strong> Thank you.", `href="https://stories.example/s/41"`,
			"Read it on Care Stories", `class="candour-chart candour-chart--ratings" data-chart="{`,
			`aria-label="Bar chart of the ratings from Care Stories: 2 with 5 stars, 1 with 4 stars, 0 with 3 stars, 0 with 2 stars, 0 with 1 star"`,
			`<script src="/assets/echarts/echarts.min.js" defer></script>`},
		"publisher": {"A&amp;E waiting times", `href="/datasets/ae-waits"`, `<script type="application/ld+json">{"name":"NHS England"}</script>`},
		"content":   {"<p>About.</p>"},
		"areas":     {`href="/areas/QHM"`, "NHS North East and North Cumbria ICB", "340 practices"},
		"area": {"is in <a href=\"/areas/Y63\">North East and Yorkshire Comm Region</a>", "86.4%", "1,234 of 1,500", "Cumbria (CQC ratings",
			"never counted as zero", "2 with suppressed or missing figures", "Care Opinion", "/areas/QHM/pack.zip", `href="/organisations/RR7"`},
		"error":     {"Page not found", "Check the address."},
		"login":     {"tok123", "The username or password is not right.", `value="ann"`},
		"workspace": {"Waits, February 2026", "In panel review", "csrf-token-xyz", "Sign out"},
		"workspace_release": {"Bob Reviewer", "Approved subject to a change: Round the small counts", "Our figure looks low", "Chris Checker",
			"free text for reviewers&#39; attention", "consideration-7", "Purpose and benefits of the data", "/workspace/releases/7/files/original/waits.csv",
			"0 of 2 needed", "3 cells suppressed", `name="csrf" value="csrf-token-xyz"`, "Resolve query", "Outlier notifications: Hip Audit",
			"Our case-mix is unusual", `id="review-breakdown-cqc-deprivation-gap-method"`, "1,209 of 1,275"},
		"workspace_preview": {"RR8", "Send query", `name="csrf" value="csrf-token-xyz"`, "Outlier notification: Hip Audit", "Alarm: high",
			"Our case-mix is unusual", "There is an explanation", `action="/workspace/releases/7/outliers/respond"`, `name="code" value="SYN-H001"`},
		"audits": {"Hip Audit", "Orthopaedics", "Synthetic demonstration data", "2023/24, 2024/25"},
		"audit": {"Synthetic demonstration data", "Exact Poisson limits", "counts as within it", "Alarm: high", "1.95", "19.5%", "SYN-H002",
			"Fewer than 20 cases (7)", "<p>How it is done.</p>", "/audits/hip-audit/outcomes.csv?measure=deaths", "Risk-adjusted", "10.0%", "0.61 to 1.54"},
		"audit_unit": {"Synthetic demonstration data", "SYN-H001", "Alarm: observed ÷ expected death within 30 days is above the 99.8% limit", "40", "20.50",
			"/audits/hip-audit/units/hospital/SYN-H001.csv"},
		"workspace_feedback": {"My NHS number is", "Held: an NHS number", `action="/workspace/feedback/release"`, `action="/workspace/feedback/hide"`,
			`name="csrf" value="csrf-token-xyz"`, `name="source" value="care-stories"`, "Kind reception staff", "Moderation reason: required",
			`id="reason-hide-care-stories-41"`, `value="A81001"`},
		"workspace_progress": {"checking data.csv: 3.0 MB of 10.0 MB", `id="stages"`, "4s"},
		"workspace_account":  {"cnd_secret123", "nightly upload (number 3)", `action="/workspace/account/tokens/3/revoke"`, "Revoked", "Change password", "Create a token"},
		"workspace_accounts": {"Ann Reviewer (ann)", `id="ann-reviewer" name="role-reviewer" type="checkbox" value="1" checked`, "Enable",
			`action="/workspace/accounts/tokens/3/revoke"`, "is taken", `value="ann"`},
		"workspace_submit": {`<a href="#period-end">Period end: before the period start</a>`, `id="period-end-error"`, `value="Waits, March"`, "csv-3", "schema-3"},
		"calendar":         {"SHMI", "9:30am on Thursday 14 January 2027", "Data supplier delay", "Year to June 2026"},
		"transparency":     {strings.Repeat("cd", 32), "42", "Ann Reviewer", "Waits, January 2026"},
		"register":         {"University of Leeds", "Service evaluation", "/register.csv"},
		"register_form":    {"recipient: required", "anonymised"},
		"indicators":       {"Told within 28 days", "Constitutional standard: 75%", "higher"},
		"indicator":        {"86.4%", "84.2% to 88.3%", "nhsuk-tag--green", "too few to show reliably", "Wilson score"},
		"map":              {"Leeds", "53.8000", "approximate: the centre of its postcode district, LS1", "2.3 km", "nhsuk-tag--green", "1 organisation with a value for Told within 28 days (January 2026) is within 15 km of LS1 4AP, by verdict: better 1", "1 organisation with a value could not be placed", `data-verdict="better"`},
		"breakdown":        {"94.8%", "1,209 of 1,275", "93.4% to 95.9%", "nhsuk-tag--grey", "-0.4 percentage points", "most deprived", "Left out", "never taken as zero"},
		"compare":          {"Leeds", "Nottingham", "Period: ", "86.4%", "No data", "/compare?org=RR8&amp;org=RX1"},
	}
	// A JSON-LD data block is not script (browsers never run it; CSP does
	// not apply): only executable inline script is refused.
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`)
	jsonLD := regexp.MustCompile(`<script type="application/ld\+json">[^<]*</script>`)
	for _, name := range pageNames {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.pages[name].ExecuteTemplate(&buf, "layout.html", samples[name]); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			for _, w := range want[name] {
				if !strings.Contains(html, w) {
					t.Errorf("%s page lacks %q", name, w)
				}
			}
			if inlineScript.MatchString(jsonLD.ReplaceAllString(html, "")) || strings.Contains(html, " style=") || strings.Contains(html, "<style") {
				t.Errorf("%s page has inline script or style, which the CSP forbids", name)
			}
			if strings.Contains(html, "nhsuk-header__logo") {
				t.Errorf("%s page shows the NHS logo without NHS branding configured", name)
			}
		})
	}
}

func TestNHSLogoOnlyWhenConfigured(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	page := contentPage{layout: sampleLayout(t, "About")}
	page.NHSBranding = true
	var buf bytes.Buffer
	if err := r.pages["content"].ExecuteTemplate(&buf, "layout.html", page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "nhsuk-header__logo") {
		t.Error("NHS branding configured but no logo shown")
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0 bytes"}, {999, "999 bytes"}, {1000, "1.0 kB"}, {2753710, "2.8 MB"}, {5_000_000_000, "5.0 GB"}} {
		if got := humanBytes(c.n); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		n    any
		want string
	}{{0, "0"}, {999, "999"}, {6618, "6,618"}, {int64(1234567), "1,234,567"}, {-16685, "-16,685"}} {
		if got := thousands(c.n); got != c.want {
			t.Errorf("thousands(%v) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestStripRemoteFonts(t *testing.T) {
	css := []byte(`a{color:red}@font-face{font-family:F;src:url(https://assets.nhs.uk/f.woff2) format("woff2")}@font-face{font-family:L;src:url(/local.woff2)}b{x:y}`)
	got := string(stripRemoteFonts("x.css", css))
	if strings.Contains(got, "assets.nhs.uk") || !strings.Contains(got, "/local.woff2") || !strings.Contains(got, "b{x:y}") {
		t.Errorf("stripRemoteFonts gave %q", got)
	}
	if got := stripRemoteFonts("x.js", css); !bytes.Equal(got, css) {
		t.Error("stripRemoteFonts changed a non-CSS file")
	}
}

// Every tabular page links its twins, and its twin's rows are as wide as
// its header.
func TestTabularPagesLinkTheirTwins(t *testing.T) {
	pages := []interface {
		tabular
		Twins() bool
	}{comparePage{}, transparencyPage{}, organisationPage{}, areaPage{}, datasetPage{}, releasePage{}, indicatorListPage{}, indicatorPage{}, auditListPage{},
		auditPage{table: twinTable{Name: "audit", Header: auditCSVHeader}}, unitPage{table: twinTable{Name: "unit", Header: auditCSVHeader}}}
	for _, p := range pages {
		table := p.twin()
		if !p.Twins() || table.Name == "" || len(table.Header) == 0 {
			t.Errorf("%T: links %v, twin %+v", p, p.Twins(), table)
		}
	}
	if (layout{}).Twins() {
		t.Error("a page without a table links twins")
	}
	l := layout{Here: "/compare?org=RR8&org=RX1&format=json"}
	if got := l.TwinURL("csv"); got != "/compare?format=csv&org=RR8&org=RX1" {
		t.Errorf("twin URL %q", got)
	}
	p := comparePage{Columns: []compareColumn{{}, {}}, Rows: []compareRow{{Cells: make([]*indicators.Observation, 2)}}}
	p.Columns[0].Organisation.Code, p.Columns[1].Organisation.Code = "RR8", "RX1"
	if table := p.twin(); len(table.Rows) != 1 || len(table.Rows[0]) != len(table.Header) || table.Name != "comparison-RR8-RX1" {
		t.Errorf("comparison twin: %+v", table)
	}
}

// An account with several roles sees each workspace form once, whatever
// order its roles are in (the announcement form has ids).
func TestWorkspaceFormsOnceForSeveralRoles(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	both := Session{Actor: publisher.Actor{Username: "pam", Name: "Pam", Organisation: "nhs-x",
		Roles: []publisher.Role{publisher.RolePublisher, publisher.RoleAdministrator}}, CSRF: "tok"}
	var buf bytes.Buffer
	if err := r.pages["workspace"].ExecuteTemplate(&buf, "layout.html", workspacePage{layout: signedIn(sampleLayout(t, "Workspace")), Session: both}); err != nil {
		t.Fatal(err)
	}
	for _, once := range []string{`id="announce-dataset"`, `href="/workspace/register"`, `href="/workspace/submit"`, `href="/workspace/accounts"`} {
		if n := strings.Count(buf.String(), once); n != 1 {
			t.Errorf("%s appears %d times, want once", once, n)
		}
	}
}
