package cluster

import "testing"

func TestIdentityPID(t *testing.T) {
	for identity, want := range map[string]int{
		"4242@host@":             4242,
		"17@vm@batchinfer":       17,
		"4242":                   4242,
		"worker-1@host":          -1,
		"":                       -1,
		"@host@":                 -1,
		"99999999999999999999@h": -1,
	} {
		if got := IdentityPID(identity); got != want {
			t.Errorf("IdentityPID(%q) = %d, want %d", identity, got, want)
		}
	}
}
