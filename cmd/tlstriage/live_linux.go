package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges switches the process to the user name and its groups, as
// tcpdump -Z does, once the capture is open. Since Go 1.16 the set*id
// calls apply to every thread of the process.
func dropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("-Z %s: %v", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("-Z %s: user ID %q: %v", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("-Z %s: group ID %q: %v", name, u.Gid, err)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				groups = append(groups, g)
			}
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("-Z %s: setting the groups: %v", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("-Z %s: setgid %d: %v", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("-Z %s: setuid %d: %v", name, uid, err)
	}
	if uid != 0 && syscall.Setuid(0) == nil {
		return fmt.Errorf("-Z %s: root privileges could be regained after setuid %d", name, uid)
	}
	return nil
}
