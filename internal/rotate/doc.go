// Package rotate writes output files that roll over: the -w packet files
// rotated as tcpdump rotates them (-C, -W, -G), and the NDJSON log that is
// reopened on SIGHUP for logrotate.
//
// # Packet files (Files)
//
// Files follows tcpdump's tcpdump.c (MakeFilename, dump_packet_and_trunc):
//
//   - -C SIZE (Options.FileSize, bytes; ParseFileSize reads tcpdump's
//     argument: millions of bytes, or with a k, m or g suffix 1024,
//     1024² or 1024³ bytes). Before each packet, if the current file holds
//     more than FileSize bytes it is closed and the next opened: FILE,
//     FILE1, FILE2 and so on. A file can thus exceed FileSize by one
//     packet.
//   - -W COUNT (Options.FileCount) with -C: a ring of COUNT files, named
//     with a number padded with zeros to the width of COUNT-1, the first
//     one too (-W 3: FILE0, FILE1, FILE2, FILE0...; -W 12: FILE00 ...
//     FILE11; -W 1: FILE, rewritten). A file of the ring is overwritten
//     when the ring comes back to it.
//   - -G SECONDS (Options.Seconds): before each packet, if SECONDS or more
//     have passed (in whole seconds) since the current file was opened,
//     it is closed and a new one opened. The name is passed through
//     strftime with the time of that rotation (the packet's time), so
//     "cap-%Y%m%d-%H%M%S.pcapng" gives one file per interval. The first
//     file's time is Options.Start.
//   - -G with -W and without -C: after COUNT files, Before returns
//     ErrFileLimit (tcpdump exits: "Maximum file limit reached").
//   - -G with -C: a size rotation within an interval appends the counter
//     to the strftime name (padded as above with -W, which then makes a
//     ring within each interval and does not stop the run); each time
//     rotation starts again at 0.
//
// Time is the packet timestamps the caller passes, never the clock (for
// live capture they are the same): a capture read from a file rotates as
// it would have live. Names are made in Options.Location: tcpdump uses
// local time, so the command passes time.Local; nil is UTC (a library
// does not read TZ).
//
// Files are never overwritten without Options.Force and never written
// through a symbolic link (internal/safefile): a file that exists at the
// first name, or at a later one, is an error unless Force; a symbolic
// link is refused even with Force. A file this run created may be
// written again (the ring, or a -G name that repeats such as cap-%H; the
// last 4096 names created are remembered), unless a symbolic link took
// its place. Errors other than ErrFileLimit that Before returns are
// these refusals and I/O errors: the set is closed, the run's -w is over.
//
// Unlike tcpdump, which ignores it, -W without -C or -G is an error.
//
// # The NDJSON log (Log)
//
// Log is a file of records, one per Write, that Reopen closes and opens
// again by name: after logrotate moved it away, Reopen creates it anew.
// Its first opening refuses an existing file unless force, as --json-file
// does; Reopen appends to whatever regular file is at the name then (the
// one logrotate's create directive made, or the same one if nothing
// moved). It is safe for concurrent use: each record lands whole in one
// file, never split by a Reopen.
package rotate
