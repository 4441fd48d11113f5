package feedback_test

import (
	"testing"

	"github.com/candour/candour/catalogue/feedback"
)

func TestValidNHSNumber(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"9434765918", false}, // wrong check digit
		{"4010232137", true},
		{"4010232138", false},
		{"1000000010", false}, // check digit would be 10: never valid
		{"943476591", false},  // nine digits
		{"94347659190", false},
		{"94347659a9", false},
	}
	for _, c := range cases {
		if got := feedback.ValidNHSNumber(c.in); got != c.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestScreen(t *testing.T) {
	cases := []struct {
		name string
		text string
		want string // "" for nothing found
	}{
		{"NHS number grouped", "My NHS number is 943 476 5919, please check", feedback.ReasonNHSNumber},
		{"NHS number together", "ref 9434765919.", feedback.ReasonNHSNumber},
		{"NHS number with hyphens", "943-476-5919", feedback.ReasonNHSNumber},
		{"NHS number after another number", "ward 3 943 476 5919", feedback.ReasonNHSNumber},
		{"NHS number with a wrong check digit", "My number is 943 476 5918", ""},
		{"ten digits inside a longer number", "order 94347659190", ""},
		{"mobile", "ring me on 07700 900123", feedback.ReasonPhone},
		{"landline with brackets", "call (01632) 960 001 any time", feedback.ReasonPhone},
		{"international form", "+44 (0)20 7946 0958", feedback.ReasonPhone},
		{"London together", "02079460958", feedback.ReasonPhone},
		{"followed by another number", "rang 07700 900123 2 times", feedback.ReasonPhone},
		{"0044 form", "0044 161 496 0000", feedback.ReasonPhone},
		{"too short for a phone number", "room 0123 on floor 2", ""},
		{"not a UK prefix", "code 05123456789", ""},
		{"email", "write to jo.bloggs+nhs@example.co.uk", feedback.ReasonEmail},
		{"at sign without a domain", "seen @ 9am by the nurse", ""},
		{"plain comment", "The staff were kind and the wait was 40 minutes in 2024.", ""},
		{"date", "on 01/02/2024 at 10:30", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, found := feedback.Screen(c.text)
			if found != (c.want != "") || got != c.want {
				t.Errorf("Screen(%q) = %q, %v; want %q", c.text, got, found, c.want)
			}
		})
	}
}
