//go:build !crashtest

package faultpoint

// Enabled reports whether this build kills the process at fault points.
const Enabled = false

// Hit marks the named point. In an ordinary build it does nothing, and the
// compiler removes the call.
func Hit(string) {}
