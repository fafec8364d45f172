package main

import "testing"

func TestWithoutPackageNames(t *testing.T) {
	for in, want := range map[string]string{
		"repo: no repository": "no repository",
		"push origin: remote: objects: not found: no such remote: x": "push origin: not found: no such remote: x",
		"sync at https://127.0.0.1:80/: wire: truncated":             "sync at https://127.0.0.1:80/: truncated",
		"a remote: the remote said no":                               "a remote: the remote said no",
	} {
		if got := withoutPackageNames(in); got != want {
			t.Errorf("withoutPackageNames(%q) = %q, want %q", in, got, want)
		}
	}
}
