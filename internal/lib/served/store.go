package served

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
)

// ErrNotServed: the kind of a Store is not served now.
var ErrNotServed = errors.New("not served by the API server")

// Store reads the objects of one kind from the informer a Watcher runs
// while the kind is served: rules that look objects up by key.
type Store struct {
	target Target

	mu       sync.Mutex
	informer toolscache.SharedIndexInformer
}

// NewStore is a Store of kind (served under gvr), its objects trimmed by
// transform (nil keeps them whole) and indexed by indexers (may be nil);
// Watch its Target.
func NewStore(gvr schema.GroupVersionResource, kind string, transform toolscache.TransformFunc, indexers toolscache.Indexers) *Store {
	s := &Store{}
	set := func(informer toolscache.SharedIndexInformer) {
		s.mu.Lock()
		s.informer = informer
		s.mu.Unlock()
	}
	s.target = Target{GVR: gvr, Kind: kind, Transform: transform,
		OnStart: func(informer toolscache.SharedIndexInformer) error {
			if len(indexers) > 0 {
				if err := informer.AddIndexers(indexers); err != nil {
					return fmt.Errorf("indexing %s: %w", resourceOf(gvr), err)
				}
			}
			set(informer)
			return nil
		},
		OnStop: func() { set(nil) },
	}
	return s
}

// Target is the Store's kind, for Watcher.Watch.
func (s *Store) Target() Target { return s.target }

// synced is the informer of a served kind that has synced.
func (s *Store) synced() (toolscache.SharedIndexInformer, error) {
	s.mu.Lock()
	informer := s.informer
	s.mu.Unlock()
	if informer == nil {
		return nil, fmt.Errorf("%s: %w", resourceOf(s.target.GVR), ErrNotServed)
	}
	if !informer.HasSynced() {
		return nil, fmt.Errorf("%s are not in the cache yet", resourceOf(s.target.GVR))
	}
	return informer, nil
}

// ByIndex are the stored objects whose index values include value; as Get
// for a kind not served or not synced.
func (s *Store) ByIndex(index, value string) ([]any, error) {
	informer, err := s.synced()
	if err != nil {
		return nil, err
	}
	return informer.GetIndexer().ByIndex(index, value)
}

// List is every stored object; as Get for a kind not served or not synced.
func (s *Store) List() ([]any, error) {
	informer, err := s.synced()
	if err != nil {
		return nil, err
	}
	return informer.GetStore().List(), nil
}

// Get is the object stored under key ("namespace/name", or "name" for a
// cluster-scoped kind). The error wraps ErrNotServed while the kind is not
// served; it is also an error until the informer has synced.
func (s *Store) Get(key string) (obj any, found bool, err error) {
	informer, err := s.synced()
	if err != nil {
		return nil, false, err
	}
	return informer.GetStore().GetByKey(key)
}
