package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/eksguard/eksguard/internal/app/server"
)

// Version is the build version, set with
// -ldflags "-X github.com/eksguard/eksguard/internal/app/cli.Version=v1.2.3".
var Version = "dev"

// Exit codes of check and audit (serve exits 1 on any error).
const (
	ExitClean = 0
	// ExitViolations: some object would be denied.
	ExitViolations = 1
	// ExitUnusable: the input, the policy or the command line cannot be used.
	ExitUnusable = 2
)

// Streams are the standard streams of a command.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// exitError ends a command with a code after its output is written.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a command line eksguard cannot run.
func usageError(err error) error { return &exitError{code: ExitUnusable, err: err} }

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, args []string, streams Streams) int {
	root := newRootCommand(streams, runServer)
	args = defaultToServe(root, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitClean
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err != nil {
			fmt.Fprintf(streams.Err, "Error: %v\n", exit.err)
		}
		return exit.code
	}
	var serveErr *serveError
	if errors.As(err, &serveErr) {
		// The server logs as it ran: structured, through its logger.
		ctrl.Log.WithName("eksguard").Error(serveErr.err, "exiting")
		return 1
	}
	// Cobra's own errors: unknown command, unknown flag, bad flag value.
	fmt.Fprintf(streams.Err, "Error: %v\nRun '%s --help' for usage.\n", err, commandPath(root, args))
	return ExitUnusable
}

func newRootCommand(streams Streams, startServer func(server.Options) error) *cobra.Command {
	root := &cobra.Command{
		Use:   "eksguard",
		Short: "Admission webhook for EKS runtime and network security practices",
		Long: `eksguard enforces EKS runtime and network security practices at admission:
seccomp RuntimeDefault on every pod, NetworkPolicy coverage of every pod, and
TLS on AWS load balancers.

Without a command, eksguard runs the webhook server (eksguard serve).`,
		Version:       Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Help for a bare "eksguard" is "eksguard serve"; see defaultToServe.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetVersionTemplate("eksguard {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(newServeCommand(startServer), newCheckCommand(streams), newAuditCommand(streams))
	return root
}

// defaultToServe keeps `eksguard --webhook-port=9443 ...` (the command line
// of deployments older than the subcommands) working: arguments that do not
// start with a command or a root flag are the serve command's. Go-style
// single-dash long flags, which the server accepted before, are rewritten
// to the double-dash form.
func defaultToServe(root *cobra.Command, args []string) []string {
	if len(args) > 0 {
		first := args[0]
		if !strings.HasPrefix(first, "-") {
			if first != "serve" {
				return args
			}
			return append([]string{"serve"}, normalizeGoFlags(serveFlagNames(root), args[1:])...)
		}
		if slices.ContainsFunc(args, isRootFlag) {
			return args
		}
	}
	return append([]string{"serve"}, normalizeGoFlags(serveFlagNames(root), args)...)
}

// isRootFlag reports the flags that a bare eksguard answers itself.
func isRootFlag(arg string) bool {
	switch arg {
	case "-h", "--help", "--version", "-v":
		return true
	}
	return false
}

func serveFlagNames(root *cobra.Command) map[string]bool {
	// -help is how Go's flag package spelled --help.
	names := map[string]bool{"help": true}
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		}
	}
	return names
}

// normalizeGoFlags turns -name and -name=value into --name and --name=value
// for the given long flag names, up to a "--".
func normalizeGoFlags(names map[string]bool, args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i, arg := range out {
		if arg == "--" {
			break
		}
		if len(arg) < 3 || arg[0] != '-' || arg[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(arg[1:], "=")
		if names[name] {
			out[i] = "-" + arg
		}
	}
	return out
}

// commandPath names the command the user ran, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	if cmd, _, err := root.Find(args); err == nil && cmd != nil {
		return cmd.CommandPath()
	}
	return root.Name()
}

// discardLogs silences controller-runtime's logger for the offline
// commands, whose output is their report; rule handlers log at debug level.
func discardLogs() { ctrl.SetLogger(logr.Discard()) }
