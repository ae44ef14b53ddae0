// Package decode reads admitted objects as the API server does (field names
// are case-sensitive; an empty or null object is no object), fast: Fields
// decodes only what a purpose-built struct names, through a jsonscan
// projection, with Unmarshal, encoding/json/v2's decoder, and anything
// Unmarshal refuses with sigs.k8s.io/json, the API server's own. Unmarshal
// replaced json-iterator, unmaintained since 2021.
package decode
