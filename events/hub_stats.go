package events

// Viewers returns how many subscriptions the hub feeds now, those waiting for Redis to confirm
// them included: one a browser following a task's live events.
func (h *Hub) Viewers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, t := range h.topics {
		n += len(t.subs) + len(t.pending)
	}
	return n
}
