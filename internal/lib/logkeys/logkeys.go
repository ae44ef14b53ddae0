package logkeys

// Admission findings (webhook/decision).
const (
	// Rule is an eksguard rule name (config.RuleName).
	Rule = "rule"
	// Kind is a kind's name: of the admitted object, of a policy kind
	// (netpol.PolicyKind.Name), or of a kind watched while served (served.Target).
	Kind = "kind"
	// Mode is a rule's effective mode.
	Mode = "mode"
	// Outcome is a finding's outcome (decision.Outcome*).
	Outcome = "outcome"
	// Exemption is the name of the exemption that lifted a rule.
	Exemption = "exemption"
	// Reason is a finding's violations.
	Reason = "reason"
)

// Objects the rules read.
const (
	// Policy is a NetworkPolicy-like object's namespace/name.
	Policy = "policy"
	// Namespace is a namespace name.
	Namespace = "namespace"
	// Resource is a group/version (or group/version/resource).
	Resource = "resource"
	// LoadBalancerClass is a Service's spec.loadBalancerClass.
	LoadBalancerClass = "loadBalancerClass"
	// Owner is the controller a load balancer belongs to (lbtls.Owner).
	Owner = "owner"
	// IngressGroup is an ALB IngressGroup name.
	IngressGroup = "ingressGroup"
)

// The policy ConfigMap (internal/app/policywatch).
const (
	ConfigMap       = "configMap"
	ResourceVersion = "resourceVersion"
	// Source names where a policy came from (ConfigMap and resourceVersion).
	Source = "source"
	// Hash is a policy's content hash.
	Hash = "hash"
	// Generation counts the policies put in force.
	Generation = "generation"
	// KeptSource is the policy that stays in force after a rejected one.
	KeptSource = "keptSource"
)

// The server (internal/app/cli serve, internal/app/certs).
const (
	Version         = "version"
	WebhookPort     = "webhookPort"
	CertDir         = "certDir"
	PolicyConfigMap = "policyConfigMap"
	// MemoryLimitBytes is the Go runtime's soft memory limit.
	MemoryLimitBytes = "memoryLimitBytes"
	// Cert is a certificate file's path.
	Cert = "cert"
	// Address is a listen address.
	Address = "address"
	// Cause is an error reported by an info line (it did not fail anything).
	Cause = "cause"
)

// The data plane's own objects (internal/app/dataplanewatch).
const (
	// DataPlaneObject names an object or kind the data-plane findings read
	// ("DaemonSet kube-system/aws-node", "NodeClass default").
	DataPlaneObject = "dataPlaneObject"
	// Finding is a data-plane finding's sentence.
	Finding = "finding"
	// Contradiction says whether a finding contradicts the declared
	// cluster-wide default-deny (false: information).
	Contradiction = "contradiction"
)
