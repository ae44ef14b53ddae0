package testbed

import (
	"sync"
	"sync/atomic"
)

// Parallel calls do for 0..n-1 from workers goroutines (the tests create
// thousands of objects through one API server) and returns the first
// error; after an error, workers stop taking more.
func Parallel(n, workers int, do func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && !failed.Load(); i = int(next.Add(1)) - 1 {
				if err := do(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
