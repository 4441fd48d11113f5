package datasets

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseSchema parses arbitrary bytes as a Table Schema. ParseSchema
// must not panic; what it accepts must marshal, parse back to an equal
// Schema, and marshal again to the same bytes (the canonical form), as
// TestParseSchemaRoundTrip checks for hand-written schemas.
func FuzzParseSchema(f *testing.F) {
	f.Add([]byte(fullSchema))
	f.Add([]byte(disclosureSchema))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchema(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no message")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseSchema accepted a schema that Validate refuses: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := ParseSchema(out)
		if err != nil {
			t.Fatalf("ParseSchema(Marshal): %v\ninput %q\njson  %s", err, data, out)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip changed the schema:\ngot  %#v\nwant %#v\ninput %q\njson  %s", again, s, data, out)
		}
		out2, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("Marshal again: %v", err)
		}
		if string(out2) != string(out) {
			t.Fatalf("marshalling is not canonical:\ngot  %s\nwant %s", out2, out)
		}
	})
}
