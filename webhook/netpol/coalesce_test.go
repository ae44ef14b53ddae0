package netpol

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestListCoalescer: admissions that arrive while a live list runs share
// the next list, which begins after all of them arrived, so none is
// answered from a list older than itself; a burst costs two lists.
func TestListCoalescer(t *testing.T) {
	var c listCoalescer
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	// Each list returns its own sequence number, as an object count.
	list := func(ctx context.Context) ([]runtime.Object, error) {
		n := calls.Add(1)
		started <- struct{}{}
		<-release
		return make([]runtime.Object, n), nil
	}
	key := listKey{kind: "NetworkPolicy", namespace: "shop"}

	first := make(chan int, 1)
	go func() {
		objs, err := c.list(context.Background(), key, list)
		if err != nil {
			t.Error(err)
		}
		first <- len(objs)
	}()
	<-started // the first list runs

	const waiters = 8
	var wg sync.WaitGroup
	got := make([]int, waiters)
	for i := range waiters {
		wg.Go(func() {
			objs, err := c.list(context.Background(), key, list)
			if err != nil {
				t.Error(err)
			}
			got[i] = len(objs)
		})
	}
	// One that gives up waiting gets its context's error, and the others
	// are not disturbed.
	cancelled, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := c.list(cancelled, key, list); gaveUp <- err }()
	waitQueued(t, &c, key, waiters+1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled waiter got %v, want context.Canceled", err)
	}

	release <- struct{}{} // the first list ends; the queued one starts
	if n := <-first; n != 1 {
		t.Errorf("the first caller got list %d, want its own (1)", n)
	}
	<-started
	release <- struct{}{}
	wg.Wait()
	for i, n := range got {
		if n != 2 {
			t.Errorf("waiter %d got list %d, want 2 (the list begun after it arrived)", i, n)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d lists for %d admissions, want 2", n, waiters+2)
	}

	// Another namespace is another key: it lists at once.
	go func() { <-started; release <- struct{}{} }()
	if _, err := c.list(context.Background(), listKey{kind: "NetworkPolicy", namespace: "blog"}, list); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) != 0 {
		t.Errorf("keys left after every list ended: %v", c.keys)
	}
}

// waitQueued waits until n callers wait for the list queued behind key's
// running one.
func waitQueued(t *testing.T, c *listCoalescer, key listKey, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		queued := c.keys[key] != nil && c.keys[key].next != nil && c.keys[key].next.waiters == n
		c.mu.Unlock()
		if queued {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no list was queued")
}
