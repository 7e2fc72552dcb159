// Package unixnano encodes times as Unix nanoseconds for the store backends,
// with the zero time as 0 (time.Time{}.UnixNano() would overflow).
package unixnano

import "time"

// From encodes t; the zero time is 0.
func From(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// To decodes n; 0 is the zero time.
func To(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
