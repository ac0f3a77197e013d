package peer

// forget empties the recent PIDs, so that the next Process scans.
func forget(s *System) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = nil
}
