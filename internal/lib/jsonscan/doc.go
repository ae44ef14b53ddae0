// Package jsonscan reads JSON without decoding it: it validates, finds the
// values of an object's keys, and projects a document onto the fields a Go
// type decodes. It exists because an admission reads a few fields of a
// large object, and a decoder is slow to skip the rest: projecting a large
// pod and decoding the projection with encoding/json/v2 takes about half
// the time decoding the pod into the same struct takes.
//
// Every function is conservative: on anything unusual (invalid JSON, a key
// written with escapes, a key given twice where it matters, nesting deeper
// than MaxDepth) it reports false, and callers use a full decoder instead,
// whose answer is then the answer. So a false costs time, never a verdict.
package jsonscan
