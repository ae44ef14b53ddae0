package lazylog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger is a zapr logger writing JSON lines with the caller to buf, as
// eksguard serve's, with V(1) enabled.
func newLogger(buf *bytes.Buffer) logr.Logger { return newLoggerAt(buf, zapcore.DebugLevel) }

func newLoggerAt(buf *bytes.Buffer, level zapcore.Level) logr.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", NameKey: "logger", CallerKey: "caller",
		LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder, EncodeCaller: zapcore.ShortCallerEncoder})
	core := zapcore.NewCore(enc, zapcore.AddSync(buf), zap.NewAtomicLevelAt(level))
	return zapr.NewLogger(zap.New(core, zap.AddCaller()))
}

type ref struct{ Namespace, Name string }

// logLines writes the same lines through l; one call site, so that the
// caller field is the same for both loggers.
func logLines(l logr.Logger) {
	l = l.WithName("admission").WithValues("object", ref{"web", "pod-1"}, "user", "alice").WithName("seccomp")
	l.V(1).Info("admission finding", "rule", "seccomp")
	l.WithValues("requestID", "d9b5").Error(errors.New("boom"), "unable to encode response")
	l.V(5).Info("not written")
	if !l.V(1).Enabled() || l.V(5).Enabled() {
		l.Info("wrong levels")
	}
}

func TestWrapWritesWhatBaseWrites(t *testing.T) {
	var eager, lazy bytes.Buffer
	logLines(newLogger(&eager))
	logLines(Wrap(newLogger(&lazy)))
	if eager.String() != lazy.String() {
		t.Errorf("lines differ:\neager: %s\nlazy:  %s", eager.String(), lazy.String())
	}
	if n := strings.Count(lazy.String(), "\n"); n != 2 {
		t.Errorf("got %d lines, want 2:\n%s", n, lazy.String())
	}
	for _, want := range []string{`"caller":"lazylog/lazylog_test.go:`, `"object":{"Namespace":"web","Name":"pod-1"}`, `"logger":"admission.seccomp"`, `"requestID":"d9b5"`} {
		if !strings.Contains(lazy.String(), want) {
			t.Errorf("lazy lines lack %s:\n%s", want, lazy.String())
		}
	}
}

// Two children of one logger keep their own pairs.
func TestWrapSiblingsDoNotShare(t *testing.T) {
	var buf bytes.Buffer
	parent := Wrap(newLogger(&buf)).WithValues("a", 1)
	first, second := parent.WithValues("b", 2), parent.WithValues("c", 3)
	first.Info("first")
	second.Info("second")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"b":2`) || strings.Contains(lines[0], `"c"`) ||
		!strings.Contains(lines[1], `"c":3`) || strings.Contains(lines[1], `"b"`) {
		t.Errorf("siblings share pairs:\n%s", buf.String())
	}
}

func TestWrapDiscard(t *testing.T) {
	if got := Wrap(logr.Discard()); got.GetSink() != nil {
		t.Errorf("Wrap(Discard) has sink %T", got.GetSink())
	}
}

// BenchmarkRequestLogger is the per-admission logger: the pairs
// controller-runtime's DefaultLogConstructor adds, and a V(1) line that
// the default level (info) does not write.
func BenchmarkRequestLogger(b *testing.B) {
	var buf bytes.Buffer
	base := newLoggerAt(&buf, zapcore.InfoLevel)
	for _, bc := range []struct {
		name string
		wrap func(logr.Logger) logr.Logger
	}{{"eager", func(l logr.Logger) logr.Logger { return l }}, {"lazy", Wrap}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l := bc.wrap(base).WithValues("object", ref{"web", "pod-1"}, "namespace", "web", "name", "pod-1",
					"resource", ref{"", "pods"}, "user", "system:serviceaccount:kube-system:replicaset-controller", "requestID", "d9b5")
				l.V(1).Info("admission finding")
			}
		})
	}
}
