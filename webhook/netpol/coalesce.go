package netpol

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

// liveListTimeout bounds a live list that serves several admissions, which
// no single admission's context may cancel.
const liveListTimeout = 10 * time.Second

// listCoalescer shares live lists of one kind in one namespace between
// concurrent admissions, without ever answering an admission from a list
// that began before it arrived (the live read exists to see a policy
// created a moment earlier): while a list runs, later arrivals wait for
// the next one, which starts when the running one ends and serves all of
// them. A burst of uncovered pods in a namespace costs the API server at
// most two lists per kind at a time, not one per pod. The zero value is
// ready to use.
type listCoalescer struct {
	mu   sync.Mutex
	keys map[listKey]*listFlights
}

type listKey struct{ kind, namespace string }

// listFlights are a key's running list and the one queued behind it.
type listFlights struct{ running, next *listFlight }

type listFlight struct {
	done chan struct{}
	objs []runtime.Object
	err  error
	// waiters counts the callers that joined a queued list.
	waiters int
}

// list returns what list returns, from a call that began after this one.
// The objects may be shared with other callers: read them only.
func (c *listCoalescer) list(ctx context.Context, key listKey, list func(context.Context) ([]runtime.Object, error)) ([]runtime.Object, error) {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[listKey]*listFlights{}
	}
	flights := c.keys[key]
	if flights == nil {
		// Nothing runs: this caller lists, on its own context.
		f := &listFlight{done: make(chan struct{})}
		c.keys[key] = &listFlights{running: f}
		c.mu.Unlock()
		f.objs, f.err = list(ctx)
		c.finish(key, f, list)
		return f.objs, f.err
	}
	if flights.next == nil {
		flights.next = &listFlight{done: make(chan struct{})}
	}
	f := flights.next
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.objs, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// finish closes f and starts the queued list, if any, for its waiters.
func (c *listCoalescer) finish(key listKey, f *listFlight, list func(context.Context) ([]runtime.Object, error)) {
	close(f.done)
	c.mu.Lock()
	flights := c.keys[key]
	next := flights.next
	flights.running, flights.next = next, nil
	if next == nil {
		delete(c.keys, key)
	}
	c.mu.Unlock()
	if next != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), liveListTimeout)
			defer cancel()
			next.objs, next.err = list(ctx)
			c.finish(key, next, list)
		}()
	}
}
