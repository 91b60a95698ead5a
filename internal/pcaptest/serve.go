package pcaptest

import (
	"net"
	"sync"
	"testing"
)

// Serve accepts the connections to ln and hands each to handle, on a
// goroutine of its own, which closes the connection when handle returns.
// When the test ends, ln is closed (before the wait) and Serve waits for
// the accept loop and every handler.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
}
