package lbtls

// The Gateway API objects the AWS Load Balancer Controller (LBC) builds
// ALBs and NLBs from (its pkg/gateway, read at v3.5.0-8-g225f44568), and its
// LoadBalancerConfiguration: the fields it reads, as the API names them
// (sigs.k8s.io/gateway-api v1.6 apis/v1, LBC apis/gateway/v1). Each embeds
// the object's metadata, so that the informers of the webhook keep these
// types themselves (gatewayTransform) instead of whole objects.

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/eksguard/eksguard/webhook/resource"
)

const gatewayGroup = "gateway.networking.k8s.io"

// The Gateway API kinds eksguard reads, all served at v1 since Gateway API
// v1.6 (TCPRoute, UDPRoute and ListenerSet in the standard channel).
var (
	GatewayClassKind = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "GatewayClass"}, Resource: "gatewayclasses"}
	GatewayKind      = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "Gateway"}, Resource: "gateways", Namespaced: true}
	ListenerSetKind  = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "ListenerSet"}, Resource: "listenersets", Namespaced: true}
	HTTPRouteKind    = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "HTTPRoute"}, Resource: "httproutes", Namespaced: true}
	GRPCRouteKind    = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "GRPCRoute"}, Resource: "grpcroutes", Namespaced: true}
	TCPRouteKind     = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "TCPRoute"}, Resource: "tcproutes", Namespaced: true}
	TLSRouteKind     = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "TLSRoute"}, Resource: "tlsroutes", Namespaced: true}
	UDPRouteKind     = resource.Kind{GVK: schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: "UDPRoute"}, Resource: "udproutes", Namespaced: true}

	// RouteKinds are the route kinds the LBC attaches (ALB: HTTPRoute,
	// GRPCRoute; NLB: TCPRoute, TLSRoute, UDPRoute).
	RouteKinds = []resource.Kind{HTTPRouteKind, GRPCRouteKind, TCPRouteKind, TLSRouteKind, UDPRouteKind}

	// LoadBalancerConfigurationKinds are the LBC's configuration kind at
	// its storage version (v1 since v3.5.0) and the older one still served.
	LoadBalancerConfigurationKinds = []resource.Kind{
		{GVK: schema.GroupVersionKind{Group: "gateway.k8s.aws", Version: "v1", Kind: "LoadBalancerConfiguration"}, Resource: "loadbalancerconfigurations", Namespaced: true},
		{GVK: schema.GroupVersionKind{Group: "gateway.k8s.aws", Version: "v1beta1", Kind: "LoadBalancerConfiguration"}, Resource: "loadbalancerconfigurations", Namespaced: true},
	}
)

// The GatewayClass controllerNames of the LBC
// (pkg/gateway/constants/controller_constants.go).
const (
	GatewayControllerALB = "gateway.k8s.aws/alb"
	GatewayControllerNLB = "gateway.k8s.aws/nlb"
)

// GatewayClass is what the rule reads of a GatewayClass.
type GatewayClass struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ControllerName string         `json:"controllerName"`
		ParametersRef  *ParametersRef `json:"parametersRef,omitempty"`
	} `json:"spec"`
}

// ParametersRef names a LoadBalancerConfiguration: a GatewayClass's needs
// a namespace, a Gateway's is in the Gateway's namespace. The LBC checks
// neither group nor kind (ResolveLoadBalancerConfig).
type ParametersRef struct {
	Group     string  `json:"group"`
	Kind      string  `json:"kind"`
	Name      string  `json:"name"`
	Namespace *string `json:"namespace,omitempty"`
}

// Gateway is what the rule reads of a Gateway.
type Gateway struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		GatewayClassName string            `json:"gatewayClassName"`
		Listeners        []GatewayListener `json:"listeners,omitempty"`
		Infrastructure   *struct {
			ParametersRef *ParametersRef `json:"parametersRef,omitempty"`
		} `json:"infrastructure,omitempty"`
		AllowedListeners *struct {
			Namespaces *RouteNamespaces `json:"namespaces,omitempty"`
		} `json:"allowedListeners,omitempty"`
	} `json:"spec"`
}

// GatewayListener is a listener of a Gateway or a ListenerSet.
type GatewayListener struct {
	Name     string  `json:"name"`
	Hostname *string `json:"hostname,omitempty"`
	Port     int32   `json:"port"`
	Protocol string  `json:"protocol"`
	TLS      *struct {
		Mode *string `json:"mode,omitempty"`
	} `json:"tls,omitempty"`
	AllowedRoutes *struct {
		Namespaces *RouteNamespaces `json:"namespaces,omitempty"`
		Kinds      []struct {
			Kind string `json:"kind"`
		} `json:"kinds,omitempty"`
	} `json:"allowedRoutes,omitempty"`
}

// RouteNamespaces says from which namespaces routes (or ListenerSets) may attach.
type RouteNamespaces struct {
	From     *string               `json:"from,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ListenerSet is what the rule reads of a ListenerSet.
type ListenerSet struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRef struct {
			Kind      *string `json:"kind,omitempty"`
			Name      string  `json:"name"`
			Namespace *string `json:"namespace,omitempty"`
		} `json:"parentRef"`
		Listeners []GatewayListener `json:"listeners,omitempty"`
	} `json:"spec"`
}

// GatewayKey is the namespace/name of the Gateway a ListenerSet names.
func (l *ListenerSet) GatewayKey() string {
	ref := l.Spec.ParentRef
	if ref.Kind != nil && *ref.Kind != "" && *ref.Kind != GatewayKind.GVK.Kind {
		return ""
	}
	ns := l.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = *ref.Namespace
	}
	return ns + "/" + ref.Name
}

// Route is what the rule reads of an HTTPRoute, GRPCRoute, TCPRoute,
// TLSRoute or UDPRoute; Kind says which.
type Route struct {
	metav1.ObjectMeta `json:"metadata"`
	Kind              string `json:"kind"`
	Spec              struct {
		ParentRefs []ParentReference `json:"parentRefs,omitempty"`
		Hostnames  []string          `json:"hostnames,omitempty"`
		Rules      []RouteRule       `json:"rules,omitempty"`
	} `json:"spec"`
}

// ParentReference is a route's reference to a Gateway or a ListenerSet.
type ParentReference struct {
	Kind        *string `json:"kind,omitempty"`
	Namespace   *string `json:"namespace,omitempty"`
	Name        string  `json:"name"`
	SectionName *string `json:"sectionName,omitempty"`
	Port        *int32  `json:"port,omitempty"`
}

// RouteRule is a route rule's filters and backends.
type RouteRule struct {
	Filters     []RouteFilter `json:"filters,omitempty"`
	BackendRefs []BackendRef  `json:"backendRefs,omitempty"`
}

// RouteFilter is a rule's filter; RequestRedirect is an HTTPRoute's.
type RouteFilter struct {
	Type            string `json:"type"`
	RequestRedirect *struct {
		Scheme *string `json:"scheme,omitempty"`
		Port   *int32  `json:"port,omitempty"`
	} `json:"requestRedirect,omitempty"`
}

// BackendRef is a rule's backend; its weight defaults to 1.
type BackendRef struct {
	Weight *int32 `json:"weight,omitempty"`
}

// parentKey is where a parentRef points: "Gateway/ns/name" or
// "ListenerSet/ns/name", the namespace defaulting to the route's
// (doesResourceAttachToGateway, resolveParentRef; the group is not checked).
func (r *Route) parentKey(ref ParentReference) string {
	kind := GatewayKind.GVK.Kind
	if ref.Kind != nil && *ref.Kind != "" {
		kind = *ref.Kind
	}
	ns := r.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = *ref.Namespace
	}
	return kind + "/" + ns + "/" + ref.Name
}

// ParentKeys are the distinct parents the route names (the routes' index).
func (r *Route) ParentKeys() []string {
	keys := sets.New[string]()
	for _, ref := range r.Spec.ParentRefs {
		keys.Insert(r.parentKey(ref))
	}
	return sets.List(keys)
}

// LoadBalancerConfiguration is what the rule reads of the LBC's
// configuration (apis/gateway/v1/loadbalancerconfig_types.go).
type LoadBalancerConfiguration struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Scheme                 *string                 `json:"scheme,omitempty"`
		ListenerConfigurations []ListenerConfiguration `json:"listenerConfigurations,omitempty"`
		MergingMode            *string                 `json:"mergingMode,omitempty"`
	} `json:"spec"`
}

// ListenerConfiguration is the configuration of the listener of one
// protocolPort ("HTTPS:443").
type ListenerConfiguration struct {
	ProtocolPort       string   `json:"protocolPort"`
	DefaultCertificate *string  `json:"defaultCertificate,omitempty"`
	Certificates       []string `json:"certificates,omitempty"`
	SSLPolicy          *string  `json:"sslPolicy,omitempty"`
	QuicEnabled        *bool    `json:"quicEnabled,omitempty"`
}

// gatewayObject makes the typed object of a kind this rule reads.
func gatewayObject(gvk schema.GroupVersionKind) (any, bool) {
	switch {
	case gvk == GatewayClassKind.GVK:
		return &GatewayClass{}, true
	case gvk == GatewayKind.GVK:
		return &Gateway{}, true
	case gvk == ListenerSetKind.GVK:
		return &ListenerSet{}, true
	case isRouteKind(gvk):
		return &Route{}, true
	case gvk.GroupKind() == LoadBalancerConfigurationKinds[0].GVK.GroupKind():
		return &LoadBalancerConfiguration{}, true
	}
	return nil, false
}

// IsGatewayKind reports a kind of this file, at a version eksguard reads.
func IsGatewayKind(gvk schema.GroupVersionKind) bool {
	for _, k := range GatewayKinds() {
		if k.GVK == gvk {
			return true
		}
	}
	return false
}

// GatewayKindAt is the version eksguard reads of a kind of this file given
// at another version (HTTPRoute v1beta1, TCPRoute v1alpha2: the fields it
// reads are the same, and the API server converts them for the webhook).
func GatewayKindAt(gvk schema.GroupVersionKind) (schema.GroupVersionKind, bool) {
	for _, k := range GatewayKinds() {
		if k.GVK.GroupKind() == gvk.GroupKind() {
			return k.GVK, true
		}
	}
	return schema.GroupVersionKind{}, false
}

// GatewayGroups are the API groups of the Gateway API and of the LBC's
// Gateway configuration: kinds eksguard knows, whether or not it reads them.
var GatewayGroups = []string{gatewayGroup, "gateway.networking.x-k8s.io", "gateway.k8s.aws"}

// GatewayKindNamespaced reports a namespaced kind of this file.
func GatewayKindNamespaced(gvk schema.GroupVersionKind) bool {
	for _, k := range GatewayKinds() {
		if k.GVK == gvk {
			return k.Namespaced
		}
	}
	return false
}

// GatewayKinds are every kind of this file.
func GatewayKinds() []resource.Kind {
	out := []resource.Kind{GatewayClassKind, GatewayKind, ListenerSetKind}
	out = append(out, RouteKinds...)
	return append(out, LoadBalancerConfigurationKinds...)
}

func isRouteKind(gvk schema.GroupVersionKind) bool {
	for _, k := range RouteKinds {
		if k.GVK.GroupKind() == gvk.GroupKind() {
			return true
		}
	}
	return false
}

// GatewayObjectFrom reads an object of one of the kinds above into its
// type, keeping only the metadata the rule and the cache need.
func GatewayObjectFrom(u *unstructured.Unstructured) (metav1.Object, error) {
	obj, ok := gatewayObject(u.GroupVersionKind())
	if !ok {
		return nil, fmt.Errorf("%s %s is no kind the Gateway rule reads", u.GetAPIVersion(), u.GetKind())
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	meta := obj.(metav1.Object)
	trimMeta(meta)
	if r, ok := obj.(*Route); ok {
		r.Kind = u.GetKind()
	}
	return meta, nil
}

// trimMeta keeps what the cache and the rule read of an object's metadata.
func trimMeta(m metav1.Object) {
	m.SetAnnotations(nil)
	m.SetLabels(nil)
	m.SetManagedFields(nil)
	m.SetOwnerReferences(nil)
	m.SetFinalizers(nil)
	m.SetGenerateName("")
}

// gatewayTransform is the informers' transform of these kinds: the typed
// object instead of the unstructured one.
func gatewayTransform(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	return GatewayObjectFrom(u)
}
