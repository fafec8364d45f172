package server

import "net/http"

// peers reports the peerings of the repository (folio serve --peer), or
// an empty list.
func (s *Server) peers(q *request) error {
	var out any = []any{}
	if s.opts.Peers != nil {
		out = s.opts.Peers(q.repo)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}
