package manifest

import (
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// TestDataPlaneObjects: the data-plane objects are kept as written (an
// aws-node DaemonSet without namespace stays kube-system's for dataplane
// while it is judged in --namespace), the Auto Mode and Karpenter kinds and
// SecurityGroupPolicy are accepted without --ignore-unknown-kinds, and other
// objects carry no DataPlane.
func TestDataPlaneObjects(t *testing.T) {
	input := `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      containers:
      - {name: aws-node, image: cni, env: [{name: NETWORK_POLICY_ENFORCING_MODE, value: strict}]}
      - {name: aws-eks-nodeagent, image: agent, args: [--enable-network-policy]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: amazon-vpc-cni, namespace: kube-system}
data: {enable-network-policy-controller: "false"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: eks.amazonaws.com/v1
kind: NodeClass
metadata: {name: locked, namespace: ignored}
spec: {networkPolicy: DefaultDeny}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec: {template: {spec: {nodeClassRef: {group: eks.amazonaws.com, kind: NodeClass, name: locked}}}}
---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: sgp}
spec: {podSelector: {}, securityGroups: {groupIds: [sg-1]}}
`
	path := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(path, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	objects, errs, err := Load(Options{Paths: []string{path}, Namespace: "team"})
	if err != nil || len(errs) > 0 {
		t.Fatalf("Load: %v %v", err, errs)
	}
	want := []struct {
		kind, namespace string
		typed           bool
		dataPlane       bool
	}{
		{"DaemonSet", "team", true, true},
		{"ConfigMap", "kube-system", false, true},
		{"ConfigMap", "", false, false}, // kinds not decoded keep the namespace as written
		{"NodeClass", "", false, true},
		{"NodePool", "", false, true},
		{"SecurityGroupPolicy", "team", false, false},
	}
	if len(objects) != len(want) {
		t.Fatalf("%d objects, want %d", len(objects), len(want))
	}
	for i, w := range want {
		o := objects[i]
		if o.GVK.Kind != w.kind || o.Namespace != w.namespace || (o.Obj != nil) != w.typed || (o.DataPlane != nil) != w.dataPlane {
			t.Errorf("object %d: %s namespace %q typed %t dataPlane %t, want %+v", i, o.GVK.Kind, o.Namespace, o.Obj != nil, o.DataPlane != nil, w)
		}
	}
	if ds, ok := objects[0].Obj.(*appsv1.DaemonSet); !ok || ds.Namespace != "team" {
		t.Errorf("the judged DaemonSet: %T in %q, want one in --namespace", objects[0].Obj, objects[0].Namespace)
	}
	f := DataPlaneFacts(objects)
	if !f.StrictMode() || !f.Read(dataplane.SourceAWSNode) {
		t.Errorf("aws-node without namespace not read as kube-system's: %+v", f.AWSNode)
	}
	if enforced, _ := f.PoliciesEnforced(); enforced || f.ControllerValue != "false" {
		t.Errorf("amazon-vpc-cni not read: controller %q", f.ControllerValue)
	}
	if deny, known := f.NodePoolDefaultDeny("general"); !deny || !known {
		t.Errorf("NodePool general: deny %t known %t", deny, known)
	}
	if f := DataPlaneFacts(objects[2:3]); f != nil {
		t.Errorf("facts from no data-plane object: %+v", f)
	}
}
