//go:build !linux

package main

import "fmt"

// dropPrivileges is implemented on Linux only.
func dropPrivileges(name string) error {
	return fmt.Errorf("-Z %s: dropping privileges is supported on Linux only", name)
}
