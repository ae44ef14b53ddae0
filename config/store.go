package config

import "sync/atomic"

// Store holds the Policy in force. Admission handlers read it once per
// request with Current; the ConfigMap watcher replaces it with Set.
type Store struct {
	current atomic.Pointer[Policy]
}

// NewStore returns a Store holding initial.
func NewStore(initial *Policy) *Store {
	s := &Store{}
	s.current.Store(initial)
	return s
}

// Current returns the Policy in force; it never returns nil.
func (s *Store) Current() *Policy { return s.current.Load() }

// Set makes p the Policy in force.
func (s *Store) Set(p *Policy) { s.current.Store(p) }
