package calicoselector

// Test helpers: not part of the API the webhook uses.

// MustParse is Parse for selectors known to be valid; it panics otherwise.
func MustParse(expr string) *Selector {
	s, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return s
}

// Equal reports whether s and o are the same selector, as their canonical
// forms; a nil Selector equals only nil (Calico's Selector.Equal).
func (s *Selector) Equal(o *Selector) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.String() == o.String()
}
