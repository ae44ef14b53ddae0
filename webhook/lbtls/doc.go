// Package lbtls validates that AWS load balancers created from Services,
// Ingresses and ACK elbv2 Listeners accept only TLS. It works out, from the
// AWS annotations, exactly which listeners the AWS Load Balancer Controller
// (LBC), EKS Auto Mode or the legacy in-tree provider would create (an ACK
// Listener is the listener itself), then denies plaintext listeners and TLS
// policies outside the configured allow-list. Classes and controllers it
// does not model get the unknownClasses finding, never a silent admit.
//
// EKS Auto Mode's controller is closed source: it is read as its user
// guide documents it (an LBC derivative), and each thing the guide leaves
// unsaid is a setting with the default that admits no weak listener
// (config.AutoModeSettings).
//
// The computation follows the LBC source (pkg/service/model_build_listener.go,
// pkg/ingress/model_build_listener.go and model_builder.go) and the in-tree
// provider (getPortSets, buildListener, ensureLoadBalancer). Ingresses are
// the LBC's by their IngressClass's controller (classifyIngress), and the
// class's IngressClassParams win over annotations where the LBC lets them
// (SSL policy, certificates, redirect, scheme, group). What this package
// cannot see: the controllers' own flags (such as the LBC's
// --default-ssl-policy, mirrored by ControllerDefaultSSLPolicy, its
// --ingress-class, mirrored by ALBIngressClasses, or its TCP_UDP feature
// gate, assumed off unless the Service asks for it).
//
// Decisions worth knowing:
//   - UDP and TCP_UDP listeners cannot use TLS on an NLB, so they are denied
//     as plaintext; a Service that must serve plain UDP needs an exemption.
//     QUIC listeners are admitted: QUIC always carries TLS 1.3.
//   - RequireBackendTLS is judged on Services only: an ALB's backend
//     protocol can be overridden by annotations on each backend Service.
//   - An ALB group is judged when one of its members is created or
//     updated; deleting a member, or moving it to another group, is not
//     judged, although it can leave the rest of its old group plaintext.
package lbtls
