// Package jsonscan reads JSON without decoding it: it validates, finds the
// values of an object's keys, and projects a document onto the fields a Go
// type decodes. It exists because a decoder skips what it does not read
// slowly (json-iterator's strict skip allocates every key it passes), and
// an admission reads a few fields of a large object.
//
// Every function is conservative: on anything unusual (invalid JSON, a key
// written with escapes, a key given twice where it matters, nesting deeper
// than MaxDepth) it reports false, and callers use a full decoder instead,
// whose answer is then the answer. So a false costs time, never a verdict.
package jsonscan
