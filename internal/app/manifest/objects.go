package manifest

import (
	"errors"
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// Kinds that are the context of a check rather than checked themselves.
var (
	gvkNetworkPolicy = networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")
	gvkNamespace     = corev1.SchemeGroupVersion.WithKind("Namespace")
	gvkIngressClass  = networkingv1.SchemeGroupVersion.WithKind("IngressClass")
)

// checkedResources are the kinds a route admits on CREATE.
var checkedResources = webhook.CreatedResources()

// NewScheme knows the built-in kinds.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic("building the client-go scheme: " + err.Error())
	}
	return scheme
}

// Object is one decoded input object.
type Object struct {
	Source Source
	GVK    schema.GroupVersionKind
	// Obj is the typed object, with the API server's defaults applied;
	// nil for kinds eksguard does not decode (kinds no rule looks at).
	Obj client.Object
	// Namespace and Name as the input gives them (namespace defaulted).
	Namespace, Name string
	// DataPlane is the object as the input writes it (its namespace not
	// defaulted) when it is one the VPC CNI's data plane is read from
	// (see DataPlaneFacts); nil otherwise. It is context, whether or not
	// the object is also judged (a DaemonSet is).
	DataPlane runtime.Object
}

// ErrUnknownKind marks a kind that is not built into Kubernetes.
var ErrUnknownKind = errors.New("unknown kind")

// servedVersion names the version the API server serves for a checked
// kind whose manifest uses a removed version (apps/v1beta2 Deployment,
// extensions/v1beta1 Ingress, batch/v1beta1 CronJob, ...).
func servedVersion(gvk schema.GroupVersionKind) (schema.GroupVersionKind, bool) {
	for served := range checkedResources {
		if served.Kind == gvk.Kind && (served.Group == gvk.Group || gvk.Group == "extensions") {
			return served, true
		}
	}
	return schema.GroupVersionKind{}, false
}

// decodeObjects turns one input document into objects: a List yields its
// items. Errors name the problem; the caller adds where it is.
func decodeObjects(u *unstructured.Unstructured, src Source, scheme *runtime.Scheme, defaultNamespace string) ([]*Object, []*InputError) {
	if u.IsList() {
		list, err := u.ToList()
		if err != nil {
			return nil, []*InputError{{Source: src, Err: fmt.Errorf("reading the List: %w", err)}}
		}
		var objs []*Object
		var errs []*InputError
		for i := range list.Items {
			itemSrc := src
			itemSrc.Item = &i
			if list.Items[i].IsList() {
				errs = append(errs, &InputError{Source: itemSrc, Err: errors.New("a List inside a List is not supported")})
				continue
			}
			obj, err := decodeObject(&list.Items[i], itemSrc, scheme, defaultNamespace)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			objs = append(objs, obj)
		}
		return objs, errs
	}
	obj, err := decodeObject(u, src, scheme, defaultNamespace)
	if err != nil {
		return nil, []*InputError{err}
	}
	return []*Object{obj}, nil
}

// decodeObject checks the object's type and decodes the kinds eksguard
// reads into their Go types, strictly: an unknown field is an error, as
// with kubectl's default field validation.
func decodeObject(u *unstructured.Unstructured, src Source, scheme *runtime.Scheme, defaultNamespace string) (*Object, *InputError) {
	fail := func(format string, args ...any) *InputError {
		return &InputError{Source: src, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case u.GetAPIVersion() == "" && u.GetKind() == "":
		return nil, fail("missing apiVersion and kind: not a Kubernetes object")
	case u.GetKind() == "":
		return nil, fail("missing kind")
	case u.GetAPIVersion() == "":
		return nil, fail("missing apiVersion")
	}
	gvk := u.GroupVersionKind()
	if gvk.Version == "" {
		return nil, fail("apiVersion %q is not group/version or version", u.GetAPIVersion())
	}
	obj := &Object{Source: src, GVK: gvk, Namespace: u.GetNamespace(), Name: u.GetName()}
	if kind := netpol.KindFor(gvk); kind != nil && !kind.BuiltIn() {
		// A custom policy kind: context for coverage, decoded by its
		// source in webhook/netpol as the webhook decodes it.
		policy := u.DeepCopy()
		if !kind.Namespaced {
			policy.SetNamespace("")
		} else if policy.GetNamespace() == "" {
			policy.SetNamespace(defaultNamespace)
		}
		if _, err := netpol.Compile(policy); err != nil {
			return nil, fail("%s: %v", kind.Name, err)
		}
		obj.Namespace, obj.Obj = policy.GetNamespace(), policy
		return obj, nil
	}
	if gvk == netpol.CalicoTierGVK {
		// Context for coverage: a Calico tier's default action.
		tier := u.DeepCopy()
		tier.SetNamespace("")
		obj.Namespace, obj.Obj = "", tier
		return obj, nil
	}
	if lbtls.IsClassParams(gvk) {
		// Context for the Ingress rule, read as the webhook reads it.
		if _, err := lbtls.ClassParamsFrom(u); err != nil {
			return nil, fail("%v", err)
		}
		params := u.DeepCopy()
		params.SetNamespace("")
		obj.Namespace, obj.Obj = "", params
		return obj, nil
	}
	switch {
	case gvk == lbtls.ACKListenerGVK || gvk == lbtls.ACKRuleGVK || gvk == lbtls.ACKLoadBalancerGVK:
		// Checked (Listener, Rule), or context for them (LoadBalancer),
		// read as the webhook reads them.
		data, err := u.MarshalJSON()
		if err != nil {
			return nil, fail("%v", err)
		}
		switch gvk {
		case lbtls.ACKListenerGVK:
			_, err = lbtls.DecodeACKListener(gvk, data)
		case lbtls.ACKRuleGVK:
			_, err = lbtls.DecodeACKRule(gvk, data)
		default:
			_, err = lbtls.ACKLoadBalancerFrom(u)
		}
		if err != nil {
			return nil, fail("%s: %v", gvk.Kind, err)
		}
		custom := u.DeepCopy()
		if custom.GetNamespace() == "" {
			custom.SetNamespace(defaultNamespace)
		}
		obj.Namespace, obj.Obj = custom.GetNamespace(), custom
		return obj, nil
	case !lbtls.IsGatewayKind(gvk) && slices.Contains(lbtls.GatewayGroups, gvk.Group):
		if at, ok := lbtls.GatewayKindAt(gvk); ok {
			// Read at the version the webhook is registered for.
			u = u.DeepCopy()
			u.SetGroupVersionKind(at)
			return decodeObject(u, src, scheme, defaultNamespace)
		}
		// ReferenceGrant, BackendTLSPolicy, ...: no listener of their own.
		return obj, nil
	case lbtls.IsGatewayKind(gvk):
		// Checked (Gateway, ListenerSet, routes), or context for them
		// (GatewayClass, LoadBalancerConfiguration), read as the webhook
		// reads them.
		if _, err := lbtls.GatewayObjectFrom(u); err != nil {
			return nil, fail("%v", err)
		}
		custom := u.DeepCopy()
		if !lbtls.GatewayKindNamespaced(gvk) {
			custom.SetNamespace("")
		} else if custom.GetNamespace() == "" {
			custom.SetNamespace(defaultNamespace)
		}
		obj.Namespace, obj.Obj = custom.GetNamespace(), custom
		return obj, nil
	case gvk.Group == lbtls.ACKListenerGVK.Group:
		// ACK's other elbv2 kinds (TargetGroup) make no listener.
		return obj, nil
	}
	if contextOnly(gvk) {
		// Cluster objects read as context (the Auto Mode and Karpenter
		// kinds) or accepted and not looked at (SecurityGroupPolicy).
		if clusterScoped(gvk) {
			obj.Namespace = ""
		} else if obj.Namespace == "" {
			obj.Namespace = defaultNamespace
		}
		obj.DataPlane = dataPlaneObject(u, gvk)
		return obj, nil
	}
	_, checked := checkedResources[gvk]
	if !checked && gvk != gvkNetworkPolicy && gvk != gvkNamespace && gvk != gvkIngressClass {
		if served, ok := servedVersion(gvk); ok {
			return nil, fail("%s %s is not served by the API server: use apiVersion %s", u.GetAPIVersion(), gvk.Kind, served.GroupVersion())
		}
		if !scheme.Recognizes(gvk) {
			return nil, &InputError{Source: src, Err: fmt.Errorf("%w %q of apiVersion %s: not a built-in Kubernetes kind", ErrUnknownKind, gvk.Kind, u.GetAPIVersion())}
		}
		obj.DataPlane = dataPlaneObject(u, gvk)
		return obj, nil
	}
	typed, err := scheme.New(gvk)
	if err != nil {
		return nil, fail("%v", err)
	}
	// Decode as the API server does: case-sensitive, unknown fields are
	// errors (kubectl's default strict field validation).
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, fail("%v", err)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(data, typed, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fail("%s: %v", gvk.Kind, err)
	}
	if len(strictErrs) > 0 {
		return nil, fail("%s: %v", gvk.Kind, errors.Join(strictErrs...))
	}
	typedObj := typed.(client.Object)
	if gvk != gvkNamespace && gvk != gvkIngressClass && typedObj.GetNamespace() == "" {
		typedObj.SetNamespace(defaultNamespace)
	}
	obj.Namespace = typedObj.GetNamespace()
	if gvk == gvkNetworkPolicy {
		// Selectors the API server would refuse (In with no values, a bad
		// label key) are input errors, as for the custom policy kinds.
		if _, err := netpol.Compile(typedObj); err != nil {
			return nil, fail("NetworkPolicy: %v", err)
		}
	}
	applyServerDefaults(typedObj)
	obj.Obj = typedObj
	obj.DataPlane = dataPlaneObject(u, gvk)
	return obj, nil
}

// applyServerDefaults sets the defaults the API server applies before
// admission webhooks see an object, for the fields eksguard's rules and
// patches depend on (from SetDefaults_* in k8s.io/kubernetes/pkg/apis/core/v1).
// NetworkPolicy policyTypes defaulting is part of the netpol rule itself.
func applyServerDefaults(obj client.Object) {
	switch o := obj.(type) {
	case *corev1.Service:
		lbtls.ApplyServerDefaults(o)
	case *corev1.Pod:
		if o.Spec.SecurityContext == nil {
			o.Spec.SecurityContext = &corev1.PodSecurityContext{}
		}
	case *batchv1.Job:
		addJobSelectorLabels(o)
	}
}

// addJobSelectorLabels adds the labels the API server puts on a Job's pod
// template when it creates the Job, before validating webhooks see it
// (generateSelector in k8s.io/kubernetes pkg/registry/batch/job/strategy.go):
// job-name and controller-uid, legacy and batch.kubernetes.io/, unless the
// Job asks for a manual selector or already sets them. The UID stands for
// the one the API server would assign.
func addJobSelectorLabels(job *batchv1.Job) {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	if job.UID == "" {
		job.UID = types.UID("eksguard-offline-job-" + job.Namespace + "-" + job.Name)
	}
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for key, value := range map[string]string{
		netpol.LegacyJobNameLabel:       job.Name,
		batchv1.JobNameLabel:            job.Name,
		netpol.LegacyControllerUIDLabel: string(job.UID),
		batchv1.ControllerUidLabel:      string(job.UID),
	} {
		if _, set := job.Spec.Template.Labels[key]; !set {
			job.Spec.Template.Labels[key] = value
		}
	}
}
