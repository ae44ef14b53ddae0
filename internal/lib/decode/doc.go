// Package decode reads admitted objects as the API server does (field names
// are case-sensitive; an empty or null object is no object), fast: Fields
// decodes only what a purpose-built struct names, through a jsonscan
// projection, and API is the one json-iterator configuration eksguard uses.
package decode
