//go:build !linux

package main

import "syscall"

// bindNoPort does nothing outside Linux: each source-bound connection gets
// a port of its own.
func bindNoPort(network, address string, rc syscall.RawConn) error { return nil }
