// Package layers holds the test of credd's layering: which of its packages
// may import which. It holds tests only.
package layers
