// Package lazylog defers a logger's key/value pairs until a line is
// written. zap encodes the pairs of WithValues at once (by reflection for
// structs), so the request logger controller-runtime builds for every
// admission cost about 6 % of the server's CPU under load, for lines that
// are almost never written: eksguard logs admissions at V(1).
package lazylog
