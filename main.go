package main

import (
	"context"
	"os"

	"github.com/eksguard/eksguard/internal/app/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
