package netpol

import (
	"runtime"
	"sync"
	"weak"
)

// internTable shares one value among every policy that would hold an
// equal one: the DNS allow is boilerplate, copied into most namespaces'
// policies, and 30,000 cached copies of it cost more than the rest of
// each policy. Entries are weak: a value no policy holds any more is
// collected and its entry removed.
type internTable[T any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[T]
}

// intern returns the value held for key, or makes one with make and holds
// it. Values must not be changed once interned.
func (t *internTable[T]) intern(key string, make func() (*T, error)) (*T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wp, ok := t.m[key]; ok {
		if v := wp.Value(); v != nil {
			return v, nil
		}
	}
	v, err := make()
	if err != nil {
		return nil, err
	}
	if t.m == nil {
		t.m = map[string]weak.Pointer[T]{}
	}
	wp := weak.Make(v)
	t.m[key] = wp
	runtime.AddCleanup(v, t.forget, internEntry[T]{key: key, wp: wp})
	return v, nil
}

// internEntry names an entry for its cleanup.
type internEntry[T any] struct {
	key string
	wp  weak.Pointer[T]
}

// forget removes an entry whose value was collected, unless the key has
// been given a new value since.
func (t *internTable[T]) forget(e internEntry[T]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[e.key] == e.wp {
		delete(t.m, e.key)
	}
}

// len is the number of entries (tests).
func (t *internTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
