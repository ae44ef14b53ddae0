// Command baseline is the allow-all webhook make bench measures eksguard
// against: the same controller-runtime webhook.Server (HTTP/1.1, TLS 1.2
// minimum, certificates from --cert-dir), serving every path of
// webhook.Routes and answering each admission admission.Allowed. The
// difference between the two is what eksguard's decoding and rules cost.
package main
