package peertest

import "golang.org/x/sys/windows"

// Wine reports whether this Windows is wine (its ntdll exports
// wine_get_version), for tests of what wine does not implement.
func Wine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
