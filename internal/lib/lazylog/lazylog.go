package lazylog

import (
	"slices"

	"github.com/go-logr/logr"
)

// Wrap returns base whose WithValues hands its pairs to base's sink only
// when a line is written; lines are the same as base's, caller included.
func Wrap(base logr.Logger) logr.Logger {
	s := base.GetSink()
	if s == nil {
		return base
	}
	// The wrapper is one more frame between the caller and base's sink.
	if cd, ok := s.(logr.CallDepthLogSink); ok {
		s = cd.WithCallDepth(1)
	}
	return base.WithSink(&sink{base: s})
}

// sink holds pairs that base has not seen yet.
type sink struct {
	base          logr.LogSink
	keysAndValues []any
}

var (
	_ logr.LogSink          = &sink{}
	_ logr.CallDepthLogSink = &sink{}
)

// Init is not called: Wrap makes the sink from an initialized one.
func (s *sink) Init(logr.RuntimeInfo) {}

func (s *sink) Enabled(level int) bool { return s.base.Enabled(level) }

func (s *sink) Info(level int, msg string, keysAndValues ...any) {
	s.materialize().Info(level, msg, keysAndValues...)
}

func (s *sink) Error(err error, msg string, keysAndValues ...any) {
	s.materialize().Error(err, msg, keysAndValues...)
}

func (s *sink) WithValues(keysAndValues ...any) logr.LogSink {
	// Clipped: appends of two children never share an array.
	return &sink{base: s.base, keysAndValues: slices.Clip(append(s.keysAndValues, keysAndValues...))}
}

func (s *sink) WithName(name string) logr.LogSink {
	return &sink{base: s.base.WithName(name), keysAndValues: s.keysAndValues}
}

func (s *sink) WithCallDepth(depth int) logr.LogSink {
	cd, ok := s.base.(logr.CallDepthLogSink)
	if !ok {
		return s
	}
	return &sink{base: cd.WithCallDepth(depth), keysAndValues: s.keysAndValues}
}

func (s *sink) materialize() logr.LogSink {
	if len(s.keysAndValues) == 0 {
		return s.base
	}
	return s.base.WithValues(s.keysAndValues...)
}
