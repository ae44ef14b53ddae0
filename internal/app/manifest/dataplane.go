package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// SecurityGroupPolicyGroupKind is the VPC Resource Controller's
// SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1): accepted as context
// and not looked at.
var SecurityGroupPolicyGroupKind = schema.GroupKind{Group: "vpcresources.k8s.aws", Kind: "SecurityGroupPolicy"}

// contextOnly reports the custom kinds the input may hold as context
// without --ignore-unknown-kinds: no rule judges them. Every version of
// each is accepted, as dataplane reads them by group and kind.
func contextOnly(gvk schema.GroupVersionKind) bool {
	switch gvk.GroupKind() {
	case dataplane.NodeClassGVK.GroupKind(), dataplane.NodePoolGVK.GroupKind(), SecurityGroupPolicyGroupKind:
		return true
	}
	return false
}

// clusterScoped reports the contextOnly kinds that have no namespace.
func clusterScoped(gvk schema.GroupVersionKind) bool {
	return gvk.GroupKind() != SecurityGroupPolicyGroupKind
}

// dataPlaneObject is u, as the input writes it, if it is one of the
// objects dataplane reads (a DaemonSet named aws-node, a ConfigMap named
// amazon-vpc-cni, a NodeClass or a NodePool); nil otherwise. The namespace
// is left as written: dataplane takes none for kube-system, where the
// check's --namespace would put it elsewhere.
func dataPlaneObject(u *unstructured.Unstructured, gvk schema.GroupVersionKind) runtime.Object {
	switch gk := gvk.GroupKind(); {
	case gk == (schema.GroupKind{Group: appsv1.GroupName, Kind: "DaemonSet"}) && u.GetName() == dataplane.AWSNodeName,
		gk == (schema.GroupKind{Group: corev1.GroupName, Kind: "ConfigMap"}) && u.GetName() == dataplane.VPCCNIConfigMapName,
		gk == dataplane.NodeClassGVK.GroupKind(), gk == dataplane.NodePoolGVK.GroupKind():
		return u.DeepCopy()
	}
	return nil
}

// DataPlaneFacts is what the input's data-plane objects (the aws-node
// DaemonSet and amazon-vpc-cni ConfigMap of kube-system, NodeClasses,
// NodePools) say of how the VPC CNI enforces policies; nil when the input
// holds none of them. The input is a partial view: a source it does not
// show is unknown, not absent (dataplane.FromObjects).
func DataPlaneFacts(objects []*Object) *dataplane.Facts {
	var objs []runtime.Object
	for _, o := range objects {
		if o.DataPlane != nil {
			objs = append(objs, o.DataPlane)
		}
	}
	if len(objs) == 0 {
		return nil
	}
	return dataplane.FromObjects(objs)
}
