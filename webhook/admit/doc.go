// Package admit is the one shape of every eksguard admission handler.
//
// A route declares a Spec once (rule, kinds, operations, the modes that
// can make it deny); Handler reads it to check the kind, let other
// operations pass, decode the object (and the old one) as the API server
// does, fill the request's namespace and the object's name, admit UPDATEs
// that change nothing the rule reads, and hand the rest to the rule's Judge
// as a Review under one policy snapshot. The Judge returns a
// decision.Answer; Handle renders it, and the offline engine reads it as
// data.
package admit
