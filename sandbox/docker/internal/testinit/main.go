// Command testinit is the docker provider's init binary for tests: what the sesame binary is in
// production, without the rest of it. The tests build it with CGO_ENABLED=0.
package main

import (
	"fmt"
	"os"

	"github.com/sesame-works/sesame/sandbox/docker"
)

func main() {
	docker.MaybeRunInit()
	fmt.Fprintln(os.Stderr, "testinit: run as one of the docker sandbox's stages")
	os.Exit(2)
}
