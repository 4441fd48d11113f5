package site

import (
	"testing"

	"github.com/candour/candour/datasets"
)

func TestExtractFormFields(t *testing.T) {
	org := &datasets.OrganisationRef{}
	for _, c := range []struct {
		name         string
		fields       []datasets.Field
		org, period  string
		offeredAtAll bool
	}{
		{"organisation and month", []datasets.Field{{Name: "Org", Type: datasets.TypeString, Role: datasets.RoleKey, Organisation: org},
			{Name: "Month", Type: datasets.TypeYearMonth, Role: datasets.RoleDimension}, {Name: "Count", Type: datasets.TypeInteger, Role: datasets.RoleMeasure}},
			"Org", "Month", true},
		{"a date that is a measure is not a period", []datasets.Field{{Name: "Opened", Type: datasets.TypeDate, Role: datasets.RoleMeasure}}, "", "", false},
		{"nothing to choose by", []datasets.Field{{Name: "Count", Type: datasets.TypeInteger, Role: datasets.RoleMeasure}}, "", "", false},
	} {
		f := newExtractForm("d", 1, "f.csv", datasets.Schema{Fields: c.fields})
		if (f != nil) != c.offeredAtAll || f != nil && (f.OrgField != c.org || f.PeriodField != c.period) {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}
