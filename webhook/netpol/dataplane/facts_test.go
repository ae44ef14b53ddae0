package dataplane

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// awsNode is the DaemonSet of amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml
// (the chart's defaults), with agent args and aws-node env replaced when given.
func awsNode(agentArgs []string, env ...corev1.EnvVar) *appsv1.DaemonSet {
	if env == nil {
		env = []corev1.EnvVar{
			{Name: "ENABLE_POD_ENI", Value: "false"},
			{Name: EnvEnforcingMode, Value: "standard"},
			{Name: "MY_NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}
	}
	if agentArgs == nil {
		agentArgs = []string{"--enable-ipv6=false", "--enable-network-policy=false", "--log-level=debug"}
	}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: AWSNodeName},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: AWSNodeContainer, Env: env},
			{Name: AgentContainer, Args: agentArgs},
		}}}},
	}
}

func env(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }

// TestAWSNodeFrom: what aws-node's pod template says, read as ipamd, the
// kubelet and the agent's flag parser read it.
func TestAWSNodeFrom(t *testing.T) {
	strict := env(EnvEnforcingMode, "strict")
	noAgent := awsNode(nil, strict)
	noAgent.Spec.Template.Spec.Containers = noAgent.Spec.Template.Spec.Containers[:1]
	envFrom := awsNode([]string{"--enable-network-policy=true"})
	envFrom.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{}}}
	envFrom.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{strict}
	commandFlag := awsNode([]string{}, strict)
	commandFlag.Spec.Template.Spec.Containers[1].Command = []string{"/controller", "--enable-network-policy=true"}

	for _, c := range []struct {
		name string
		ds   *appsv1.DaemonSet
		want AWSNode
	}{
		{"amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml: agent present, --enable-network-policy=false, mode standard",
			awsNode(nil), AWSNode{AgentPresent: true, EnforcingMode: ModeStandard, SGEnforcingMode: SGModeStrict}},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni templates/daemonset.yaml nodeAgent.enabled=false: no agent container",
			noAgent, AWSNode{EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"aws-network-policy-agent pkg/config/controller_config.go --enable-network-policy is a pflag bool: =true",
			awsNode([]string{"--enable-network-policy=true"}, strict),
			AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag bool flag NoOptDefVal: --enable-network-policy alone is true",
			awsNode([]string{"--enable-network-policy"}, strict),
			AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag bool flag: strconv.ParseBool accepts 1 and True",
			awsNode([]string{"--enable-network-policy=True"}, strict),
			AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag: the last occurrence of a flag wins",
			awsNode([]string{"--enable-network-policy=true", "--enable-network-policy=0"}, strict),
			AWSNode{AgentPresent: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag ExitOnError (aws-network-policy-agent main.go loadControllerConfig): a bad value exits, no agent",
			awsNode([]string{"--enable-network-policy=yes"}, strict),
			AWSNode{AgentPresent: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag: arguments after -- are not flags",
			awsNode([]string{"--", "--enable-network-policy=true"}, strict),
			AWSNode{AgentPresent: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"spf13/pflag: a longer flag name is another flag",
			awsNode([]string{"--enable-network-policy-logs=true"}, strict),
			AWSNode{AgentPresent: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"kubernetes container command: flags in command reach os.Args too",
			commandFlag, AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"kubernetes $(VAR) expansion of args: the flag's value is not in the manifest",
			awsNode([]string{"--enable-network-policy=$(NP)"}, strict),
			AWSNode{AgentPresent: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict, Unknown: []string{FlagEnableNetworkPolicy}}},
		{"amazon-vpc-cni-k8s pkg/ipamd/ipamd.go getNetworkPolicyMode: unset is \"\", not standard",
			awsNode([]string{"--enable-network-policy=true"}, env("ENABLE_POD_ENI", "false")),
			AWSNode{AgentPresent: true, AgentEnabled: true, SGEnforcingMode: SGModeStrict}},
		{"aws-network-policy-agent pkg/utils/utils.go IsStrictMode compares lower-cased",
			awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "Strict")),
			AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"kubelet makeEnvironmentVariables: valueFrom is not in the manifest",
			awsNode([]string{"--enable-network-policy=true"}, corev1.EnvVar{Name: EnvEnforcingMode,
				ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "mode"}}}),
			AWSNode{AgentPresent: true, AgentEnabled: true, SGEnforcingMode: SGModeStrict, Unknown: []string{EnvEnforcingMode}}},
		{"kubelet makeEnvironmentVariables: the last env entry of a name wins",
			awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "standard"), strict),
			AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict}},
		{"kubelet makeEnvironmentVariables: envFrom may supply what env does not set",
			envFrom, AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: ModeStrict, SGEnforcingMode: SGModeStrict,
				Unknown: []string{EnvPodENI, EnvSGEnforcingMode}}},
		{"amazon-vpc-cni-k8s pkg/ipamd/ipamd.go EnablePodENI and pkg/sgpp POD_SECURITY_GROUP_ENFORCING_MODE",
			awsNode(nil, env(EnvPodENI, "1"), env(EnvSGEnforcingMode, "standard")),
			AWSNode{AgentPresent: true, PodENI: true, SGEnforcingMode: "standard"}},
		{"amazon-vpc-cni-k8s utils.GetBoolAsStringEnvVar: an invalid ENABLE_POD_ENI is the default, false",
			awsNode(nil, env(EnvPodENI, "yes")), AWSNode{AgentPresent: true, SGEnforcingMode: SGModeStrict}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := FromObjects([]runtime.Object{c.ds})
			if f.AWSNode == nil {
				t.Fatal("aws-node not read")
			}
			if !reflect.DeepEqual(*f.AWSNode, c.want) {
				t.Errorf("got  %+v\nwant %+v", *f.AWSNode, c.want)
			}
		})
	}
}

func nodeClass(name string, policy any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
	u.SetGroupVersionKind(NodeClassGVK)
	u.SetName(name)
	if policy != nil {
		u.Object["spec"].(map[string]any)["networkPolicy"] = policy
	}
	return u
}

func nodePool(name, group, kind, class string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"nodeClassRef": map[string]any{"group": group, "kind": kind, "name": class}}}}}}
	u.SetGroupVersionKind(NodePoolGVK)
	u.SetName(name)
	return u
}

func vpcCNIConfig(namespace string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: VPCCNIConfigMapName}, Data: data}
}

func toUnstructured(t *testing.T, obj runtime.Object, apiVersion, kind string) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u
}

// TestBuilderAdd: which objects are data-plane context, typed or decoded
// from a manifest.
func TestBuilderAdd(t *testing.T) {
	otherDS := awsNode(nil)
	otherDS.Namespace = "default"
	noNamespace := vpcCNIConfig("", map[string]string{KeyControllerEnabled: "true"})
	for _, c := range []struct {
		name string
		obj  runtime.Object
		want bool
	}{
		{"DaemonSet kube-system/aws-node", awsNode(nil), true},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni: the release namespace is meant to be kube-system; another is not read", otherDS, false},
		{"ConfigMap kube-system/amazon-vpc-cni", vpcCNIConfig(Namespace, nil), true},
		{"a manifest without a namespace counts as kube-system's", noNamespace, true},
		{"another ConfigMap", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: "coredns"}}, false},
		{"unstructured DaemonSet (eksguard check decodes manifests to unstructured)", toUnstructured(t, awsNode(nil), "apps/v1", "DaemonSet"), true},
		{"unstructured ConfigMap", toUnstructured(t, vpcCNIConfig(Namespace, nil), "v1", "ConfigMap"), true},
		{"eks.amazonaws.com/v1 NodeClass", nodeClass("default", "DefaultDeny"), true},
		{"karpenter.sh/v1 NodePool", nodePool("general-purpose", "eks.amazonaws.com", "NodeClass", "default"), true},
		{"a Pod", &corev1.Pod{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := NewBuilder().Add(c.obj); got != c.want {
				t.Errorf("Add = %v, want %v", got, c.want)
			}
		})
	}
}

// TestFromObjects: the Facts of a set of manifests, and what they leave unknown.
func TestFromObjects(t *testing.T) {
	f := FromObjects([]runtime.Object{
		vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "true"}),
		nodeClass("default", nil),
		nodeClass("locked", "DefaultDeny"),
		nodeClass("odd", int64(1)),
		nodePool("general-purpose", "eks.amazonaws.com", "NodeClass", "default"),
		nodePool("system", "eks.amazonaws.com", "NodeClass", "locked"),
		nodePool("karpenter", "karpenter.k8s.aws", "EC2NodeClass", "default"),
	})
	want := &Facts{
		ControllerEnabled: ptr.To(true), ControllerValue: "true",
		// auto-net-pol.html: networkPolicy is optional, DefaultAllow unless set.
		NodeClasses: map[string]string{"default": NetworkPolicyDefaultAllow, "locked": NetworkPolicyDefaultDeny, "odd": ""},
		// karpenter.sh/v1 nodeClassRef: only eks.amazonaws.com NodeClasses are Auto Mode's.
		NodePools: map[string]string{"general-purpose": "default", "system": "locked"},
		Unread:    []Source{SourceAWSNode},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

// TestControllerValue: amazon-vpc-cni-k8s charts/aws-vpc-cni
// templates/configmap.yaml renders enable-network-policy-controller from
// enableNetworkPolicy, "false" by default; EKS's reader is not public.
func TestControllerValue(t *testing.T) {
	for _, c := range []struct {
		data  map[string]string
		want  *bool
		value string
	}{
		{map[string]string{KeyControllerEnabled: "true"}, ptr.To(true), "true"},
		{map[string]string{KeyControllerEnabled: "false"}, ptr.To(false), "false"},
		{map[string]string{KeyControllerEnabled: "True"}, nil, "True"},
		{map[string]string{"enable-windows-ipam": "false"}, nil, ""},
	} {
		f := FromObjects([]runtime.Object{vpcCNIConfig(Namespace, c.data)})
		if !reflect.DeepEqual(f.ControllerEnabled, c.want) || f.ControllerValue != c.value {
			t.Errorf("%v: ControllerEnabled %v %q, want %v %q", c.data, f.ControllerEnabled, f.ControllerValue, c.want, c.value)
		}
	}
}

// TestBuilderFactsIsACopy: Facts handed out do not change as the Builder goes on.
func TestBuilderFactsIsACopy(t *testing.T) {
	b := NewBuilder()
	b.Add(nodeClass("a", "DefaultDeny"))
	f := b.Facts()
	b.Add(nodeClass("a", "DefaultAllow"))
	b.Unread(SourceNodePools)
	if f.NodeClasses["a"] != NetworkPolicyDefaultDeny || len(f.Unread) != 0 {
		t.Errorf("Facts changed after the Builder went on: %+v", f)
	}
}
