//go:build !windows

package atomicfile

import "os"

// rename renames old over new: on Unix whoever holds new open keeps
// reading the old content, and the rename is not refused.
func (Writer) rename(old, new string) error { return os.Rename(old, new) }
