//go:build unix && !linux && !darwin

package peer

// lsofPath is where the BSDs' packages install lsof.
const lsofPath = "/usr/local/sbin/lsof"

// What System reads here for the process, and what it cannot see
// (Support).
const (
	lsofProcess = "the PID lsof names; no executable"
	lsofLimits  = "lsof run as a user may see only that user's processes: another user's connection is unknown, and refused as such"
)
