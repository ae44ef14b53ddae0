// Command eksguard runs the eksguard admission webhook server (the default
// command) and its offline tools; see internal/app/cli.
package main

import (
	"context"
	"os"

	"github.com/eksguard/eksguard/internal/app/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
