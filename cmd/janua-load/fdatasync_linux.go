package main

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (not its metadata that reads do not need), as
// PostgreSQL's default wal_sync_method does on Linux.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
