package server

import (
	"fmt"
	"io"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// checkIDCount bounds the IDs of one request.
func checkIDCount(ids []objects.ID) error {
	if len(ids) > wire.MaxObjectsRequest {
		return badRequest(fmt.Sprintf("%d IDs in one request; at most %d", len(ids), wire.MaxObjectsRequest))
	}
	return nil
}

// objects answers a request for objects by ID (a leader repairing damaged
// or missing objects) with a pack of those this repository holds intact.
// It reads objects only: any reader may ask, as for a fetch.
func (s *Server) objects(q *request) error {
	var req wire.ObjectsRequest
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if err := checkIDCount(req.IDs); err != nil {
		return err
	}
	return s.sendPack(q, "objects", func(_ io.Writer, pw *wire.PackWriter) error {
		_, err := transfer.SendIDs(q.Context(), q.repo.Store(), pw, req.IDs)
		return err
	})
}
