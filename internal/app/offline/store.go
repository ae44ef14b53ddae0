package offline

import (
	"context"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// Store is the in-memory client.Reader the rule handlers read when
// eksguard runs outside the webhook: namespace labels, the NetworkPolicies
// of a namespace and the Ingresses of an ALB group, each kept in the map the
// reads need, so a check costs what the webhook's would. It keeps of each
// object what the rules read, as the webhook's informer caches do, so an
// audit holds little more than the compiled context. It serves exactly
// the reads the handlers make and fails loudly on any other, so a handler
// that starts reading something new cannot be answered wrongly.
type Store struct {
	namespaceLabels map[string]labels.Set
	policies        map[string][]networkingv1.NetworkPolicy
	// policyObjects are the objects of the other policy kinds (netpol.Kinds), by kind.
	policyObjects map[schema.GroupVersionKind][]*unstructured.Unstructured
	ingressGroups map[string][]networkingv1.Ingress
	// ingressesByClass are the Ingresses by spec.ingressClassName (lbtls.IngressClassNameField).
	ingressesByClass map[string][]networkingv1.Ingress
	ingressClasses   []networkingv1.IngressClass
	// classParams are the IngressClassParams by owner and name.
	classParams map[lbtls.Owner]map[string]*lbtls.ClassParams
	// ackLoadBalancers and ackListeners are ACK's objects by namespace/name.
	ackLoadBalancers map[string]*lbtls.ACKLoadBalancer
	ackListeners     map[string]*lbtls.ACKListener
	ackRules         []*lbtls.ACKRule
	gatewayObjects   gatewayObjects
	// calicoTiers are Calico's Tier objects.
	calicoTiers []*unstructured.Unstructured
	// dataPlane is what the cluster's objects say of the VPC CNI's
	// enforcement; nil: nothing known.
	dataPlane *dataplane.Facts
	// nextUID names objects that have no UID yet (input manifests): the
	// NetworkPolicy index tells policies apart by UID.
	nextUID int
}

var (
	_ client.Reader    = &Store{}
	_ lbtls.Classes    = &Store{}
	_ lbtls.ACKObjects = &Store{}
)

func NewStore() *Store {
	return &Store{
		namespaceLabels:  map[string]labels.Set{},
		policies:         map[string][]networkingv1.NetworkPolicy{},
		policyObjects:    map[schema.GroupVersionKind][]*unstructured.Unstructured{},
		ingressGroups:    map[string][]networkingv1.Ingress{},
		ingressesByClass: map[string][]networkingv1.Ingress{},
		classParams:      map[lbtls.Owner]map[string]*lbtls.ClassParams{},
		ackLoadBalancers: map[string]*lbtls.ACKLoadBalancer{},
		ackListeners:     map[string]*lbtls.ACKListener{},
	}
}

func (s *Store) ensureUID(obj metav1.Object) {
	if obj.GetUID() == "" {
		s.nextUID++
		obj.SetUID(types.UID(fmt.Sprintf("eksguard-offline-%d", s.nextUID)))
	}
}

// addNamespace records a namespace's labels, with the name label that the
// API server sets on every namespace.
func (s *Store) AddNamespace(name string, set map[string]string) {
	merged := labels.Set{corev1.LabelMetadataName: name}
	for k, v := range set {
		merged[k] = v
	}
	s.namespaceLabels[name] = merged
}

// AddNetworkPolicy records np as the webhook's cache holds it: what the
// coverage index and the live reads compile.
func (s *Store) AddNetworkPolicy(np *networkingv1.NetworkPolicy) {
	s.ensureUID(np)
	trimmed, _ := netpol.TrimNetworkPolicy(np)
	s.policies[np.Namespace] = append(s.policies[np.Namespace], *trimmed.(*networkingv1.NetworkPolicy))
}

// addPolicyObject records an object of a custom policy kind.
func (s *Store) AddPolicyObject(u *unstructured.Unstructured) {
	s.ensureUID(u)
	gvk := u.GroupVersionKind()
	s.policyObjects[gvk] = append(s.policyObjects[gvk], withoutUnread(u))
}

// AddCalicoTier records a Calico Tier, whose default action coverage reads.
func (s *Store) AddCalicoTier(u *unstructured.Unstructured) {
	s.calicoTiers = append(s.calicoTiers, withoutUnread(u))
}

// withoutUnread is a copy of u without managedFields, kubectl's
// last-applied copy of the object and status, which are most of a live
// object's bytes and which no rule reads of any kind the store keeps
// unstructured (the webhook's caches drop them too). u stays whole: check
// judges the objects it stores.
func withoutUnread(u *unstructured.Unstructured) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: maps.Clone(u.Object)}
	delete(out.Object, "status")
	if meta, ok := out.Object["metadata"].(map[string]any); ok {
		meta = maps.Clone(meta)
		delete(meta, "managedFields")
		if ann, ok := meta["annotations"].(map[string]any); ok {
			ann = maps.Clone(ann)
			delete(ann, corev1.LastAppliedConfigAnnotation)
			meta["annotations"] = ann
		}
		out.Object["metadata"] = meta
	}
	return out
}

// SetDataPlane records what the cluster's data-plane objects (aws-node,
// amazon-vpc-cni, NodeClasses, NodePools) say, for the coverage rule; nil
// knows nothing. Call it before New.
func (s *Store) SetDataPlane(f *dataplane.Facts) { s.dataPlane = f }

// DataPlane is what SetDataPlane recorded.
func (s *Store) DataPlane() *dataplane.Facts { return s.dataPlane }

// indexPolicies feeds ix with every policy object of the store.
func (s *Store) indexPolicies(ix *netpol.Index) {
	for ns := range s.policies {
		for i := range s.policies[ns] {
			ix.OnAdd(&s.policies[ns][i], true)
		}
	}
	for _, objs := range s.policyObjects {
		for _, u := range objs {
			ix.OnAdd(u, true)
		}
	}
	if len(s.calicoTiers) > 0 {
		ix.SetTiers(netpol.TiersFrom(s.calicoTiers))
	}
	ix.AssumeServed()
}

// addIngress records an Ingress by its explicit ALB group and by its class,
// the two ways the Ingress rule looks up the other members of a group.
func (s *Store) AddIngress(ing *networkingv1.Ingress) {
	group, class := lbtls.IndexIngressGroupName(ing), lbtls.IndexIngressClassName(ing)
	if len(group) == 0 && len(class) == 0 {
		return
	}
	s.ensureUID(ing)
	obj, _ := lbtls.TrimIngress(ing)
	trimmed := *obj.(*networkingv1.Ingress)
	if len(group) > 0 {
		s.ingressGroups[group[0]] = append(s.ingressGroups[group[0]], trimmed)
	}
	if len(class) > 0 {
		s.ingressesByClass[class[0]] = append(s.ingressesByClass[class[0]], trimmed)
	}
}

// addIngressClass records an IngressClass, as the webhook's cache holds it.
func (s *Store) AddIngressClass(class *networkingv1.IngressClass) {
	trimmed, _ := lbtls.TrimIngressClass(class)
	s.ingressClasses = append(s.ingressClasses, *trimmed.(*networkingv1.IngressClass))
}

// addClassParams records an IngressClassParams.
func (s *Store) AddClassParams(p *lbtls.ClassParams) {
	if s.classParams[p.Owner] == nil {
		s.classParams[p.Owner] = map[string]*lbtls.ClassParams{}
	}
	s.classParams[p.Owner][p.Name] = p
}

// IngressClasses implements lbtls.Classes: the input's IngressClasses, or,
// when it holds none, nothing known (class names then decide).
func (s *Store) IngressClasses(context.Context) (lbtls.IngressClasses, error) {
	if len(s.ingressClasses) == 0 {
		return lbtls.IngressClasses{}, nil
	}
	return lbtls.NewIngressClasses(s.ingressClasses), nil
}

// ClassParams implements lbtls.Classes.
func (s *Store) ClassParams(_ context.Context, kind schema.GroupVersionKind, name string) (*lbtls.ClassParams, error) {
	for owner, k := range lbtls.ClassParamsKinds {
		if p, ok := s.classParams[owner][name]; ok && k == kind {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q (%s) in the input", lbtls.ErrNoClassParams, name, kind.GroupVersion())
}

// AddACKLoadBalancer records an ACK LoadBalancer.
func (s *Store) AddACKLoadBalancer(namespace, name string, lb *lbtls.ACKLoadBalancer) {
	s.ackLoadBalancers[namespace+"/"+name] = lb
}

// AddACKObject records an ACK Listener or Rule.
func (s *Store) AddACKObject(u *unstructured.Unstructured) error {
	raw, err := withoutUnread(u).MarshalJSON()
	if err != nil {
		return err
	}
	switch u.GroupVersionKind() {
	case lbtls.ACKListenerGVK:
		l, err := lbtls.DecodeACKListener(lbtls.ACKListenerGVK, raw)
		if err != nil {
			return err
		}
		s.ackListeners[u.GetNamespace()+"/"+u.GetName()] = l
	case lbtls.ACKRuleGVK:
		r, err := lbtls.DecodeACKRule(lbtls.ACKRuleGVK, raw)
		if err != nil {
			return err
		}
		s.ackRules = append(s.ackRules, r)
	}
	return nil
}

// ACKLoadBalancer implements lbtls.ACKObjects.
func (s *Store) ACKLoadBalancer(_ context.Context, key string) (*lbtls.ACKLoadBalancer, error) {
	return s.ackLoadBalancers[key], nil
}

// ACKListener implements lbtls.ACKObjects.
func (s *Store) ACKListener(_ context.Context, key string) (*lbtls.ACKListener, error) {
	return s.ackListeners[key], nil
}

// ACKRulesOf implements lbtls.ACKObjects.
func (s *Store) ACKRulesOf(_ context.Context, listenerKey string) ([]*lbtls.ACKRule, error) {
	var out []*lbtls.ACKRule
	for _, r := range s.ackRules {
		if r.ListenerKey() == listenerKey {
			out = append(out, r)
		}
	}
	return out, nil
}

// HasIngressClasses reports whether the store holds any IngressClass.
func (s *Store) HasIngressClasses() bool { return len(s.ingressClasses) > 0 }

// Get serves namespace metadata. A namespace the store has not seen has just
// its name label: the input did not describe it, and an object's namespace
// always exists on the server.
func (s *Store) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	meta, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok || meta.GroupVersionKind() != corev1.SchemeGroupVersion.WithKind("Namespace") {
		return fmt.Errorf("offline reader: reading %T is not supported", obj)
	}
	set, known := s.namespaceLabels[key.Name]
	if !known {
		set = labels.Set{corev1.LabelMetadataName: key.Name}
	}
	meta.SetName(key.Name)
	meta.SetLabels(set)
	return nil
}

// List serves the NetworkPolicies of one namespace and the Ingresses of one
// ALB group or class (the lbtls field indexes).
func (s *Store) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var lo client.ListOptions
	lo.ApplyOptions(opts)
	if lo.LabelSelector != nil && !lo.LabelSelector.Empty() {
		return fmt.Errorf("offline reader: label selectors are not supported")
	}
	switch l := list.(type) {
	case *networkingv1.NetworkPolicyList:
		if lo.Namespace == "" || (lo.FieldSelector != nil && !lo.FieldSelector.Empty()) {
			return fmt.Errorf("offline reader: NetworkPolicies are listed by namespace only")
		}
		l.Items = append([]networkingv1.NetworkPolicy(nil), s.policies[lo.Namespace]...)
		return nil
	case *unstructured.UnstructuredList:
		kind := netpol.KindFor(l.GroupVersionKind().GroupVersion().WithKind(strings.TrimSuffix(l.GetKind(), "List")))
		if kind == nil || (lo.FieldSelector != nil && !lo.FieldSelector.Empty()) {
			return fmt.Errorf("offline reader: listing %s is not supported", l.GroupVersionKind())
		}
		l.Items = nil
		for _, u := range s.policyObjects[kind.GVK] {
			if lo.Namespace == "" || u.GetNamespace() == lo.Namespace {
				l.Items = append(l.Items, *u.DeepCopy())
			}
		}
		return nil
	case *networkingv1.IngressList:
		if lo.FieldSelector != nil && lo.Namespace == "" {
			if group, ok := lo.FieldSelector.RequiresExactMatch(lbtls.IngressGroupNameField); ok {
				l.Items = append([]networkingv1.Ingress(nil), s.ingressGroups[group]...)
				return nil
			}
			if class, ok := lo.FieldSelector.RequiresExactMatch(lbtls.IngressClassNameField); ok {
				l.Items = append([]networkingv1.Ingress(nil), s.ingressesByClass[class]...)
				return nil
			}
		}
		return fmt.Errorf("offline reader: Ingresses are listed by ALB group or class only")
	}
	return fmt.Errorf("offline reader: listing %T is not supported", list)
}
