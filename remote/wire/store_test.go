package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// A damaged ref's name arrives as it is stored, even where the damage left
// it no UTF-8 (a JSON string would carry U+FFFD instead, and the server
// would then find no ref of that name to drop).
func TestStoreDamagedRefKeepsItsName(t *testing.T) {
	d := objects.DamagedRef{Name: "refs/heads/m\xe1in", Why: "it does not match its check", ID: objects.ID{1, 2, 3}}
	data, err := json.Marshal(wire.StoreCheckedRefs{Damaged: []wire.StoreDamagedRef{wire.DamagedRefOf(d)}})
	if err != nil {
		t.Fatal(err)
	}
	var back wire.StoreCheckedRefs
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Damaged) != 1 || back.Damaged[0].DamagedRef() != d {
		t.Fatalf("sent %+v, received %+v (%s)", d, back.Damaged, data)
	}
}
