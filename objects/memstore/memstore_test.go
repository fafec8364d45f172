package memstore_test

import (
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objects.Store { return memstore.New() })
}
