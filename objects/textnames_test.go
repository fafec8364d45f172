package objects_test

import (
	"encoding/json"
	"testing"

	"github.com/folio-db/folio/objects"
)

// Kinds and sides travel by name in JSON reports and read back as values.
func TestKindAndSideJSONRoundTrip(t *testing.T) {
	for _, k := range []objects.Kind{objects.KindText, objects.KindJSON, objects.KindBinary, objects.KindConflict} {
		data, _ := json.Marshal(k)
		var back objects.Kind
		if err := json.Unmarshal(data, &back); err != nil || back != k {
			t.Errorf("kind %s: %s reads back as %v, %v", k, data, back, err)
		}
	}
	for _, s := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
		data, _ := json.Marshal(s)
		var back objects.Side
		if err := json.Unmarshal(data, &back); err != nil || back != s {
			t.Errorf("side %s: %s reads back as %v, %v", s, data, back, err)
		}
	}
	var k objects.Kind
	if err := json.Unmarshal([]byte(`"tar"`), &k); err == nil {
		t.Error("an unknown kind name was accepted")
	}
	var s objects.Side
	if err := json.Unmarshal([]byte(`"both"`), &s); err == nil {
		t.Error("an unknown side name was accepted")
	}
}
