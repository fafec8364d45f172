package prolly

import (
	"sync"

	"github.com/folio-db/folio/objects"
)

// nodeCache keeps recently used decoded nodes in two generations: new nodes
// go to the young one; when it holds half the budget it becomes the old one
// and the previous old one is dropped. A hit in the old generation moves
// the node back to the young one. It is a cheap approximation of LRU whose
// size never exceeds the budget (counted in encoded bytes).
type nodeCache struct {
	mu         sync.Mutex
	young, old map[objects.ID]cached
	youngBytes int
	budget     int
}

type cached struct {
	node *objects.Node
	size int
}

func newNodeCache(budget int) *nodeCache {
	return &nodeCache{young: map[objects.ID]cached{}, budget: budget}
}

func (c *nodeCache) get(id objects.ID) *objects.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.young[id]; ok {
		return e.node
	}
	if e, ok := c.old[id]; ok {
		delete(c.old, id)
		c.insert(id, e)
		return e.node
	}
	return nil
}

func (c *nodeCache) put(id objects.ID, n *objects.Node, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.young[id]; !ok {
		c.insert(id, cached{n, size})
	}
}

func (c *nodeCache) insert(id objects.ID, e cached) {
	if c.youngBytes+e.size > c.budget/2 {
		c.old, c.young, c.youngBytes = c.young, map[objects.ID]cached{}, 0
	}
	c.young[id] = e
	c.youngBytes += e.size
}
