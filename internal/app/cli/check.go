package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/internal/app/report"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

type checkOptions struct {
	files              []string
	recursive          bool
	policyFile         string
	output             string
	namespace          string
	ownNamespace       string
	ignoreUnknownKinds bool
}

func newCheckCommand(streams Streams) *cobra.Command {
	var opts checkOptions
	cmd := &cobra.Command{
		Use:   "check -f PATH...",
		Short: "Judge manifests offline, as the webhook would admit them",
		Long: `Judge manifests without a cluster: every Pod, workload (Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob),
Service and Ingress goes through eksguard's own admission handlers, as if it
were created now, and the report says what the webhook would answer:
admitted, mutated (with the patch), warned (with the warnings) or denied
(with the reason).

The input is the cluster: NetworkPolicies in it cover the pods of their
namespace, Ingresses in it form ALB groups, Namespaces in it give the labels
that policy namespace selectors read. The VPC CNI's objects in it (the
kube-system DaemonSet aws-node and ConfigMap amazon-vpc-cni, Auto Mode
NodeClasses and Karpenter NodePools) say which pods the data plane denies by
default (strict mode, a DefaultDeny NodeClass); a source the input does not
show is unknown. SecurityGroupPolicies are accepted and not checked. Objects
without a namespace go to --namespace (the aws-node DaemonSet and
amazon-vpc-cni ConfigMap are read as kube-system's). Server-side defaults
that the rules depend on are applied first.

Exit status: 0 when nothing would be denied, 1 when something would be
denied, 2 when the input or the policy cannot be used.`,
		Example: `  # The examples, under the sample policy
  eksguard check -f examples/manifests --policy examples/policy-configmap.yaml

  # A rendered Helm chart, for a CI job
  helm template my-app ./chart | eksguard check -f - -o json

  # Findings for code scanning (SARIF) or CI test reports (JUnit XML)
  eksguard check -f deploy/ -o sarif > eksguard.sarif
  eksguard check -f deploy/ -o junit > eksguard-junit.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(opts.files) == 0 {
				return usageError(errors.New("check needs -f PATH (a file, a directory, or - for standard input)"))
			}
			if !report.ValidFormat(opts.output) {
				return usageError(fmt.Errorf("--output %q: use %s", opts.output, strings.Join(report.Formats, ", ")))
			}
			discardLogs()
			return runCheck(cmd.Context(), opts, streams)
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVarP(&opts.files, "filename", "f", nil,
		"Manifests to check: files, directories (their .yaml, .yml and .json files) or - for standard input. Repeatable.")
	flags.BoolVarP(&opts.recursive, "recursive", "R", false, "Also read the subdirectories of directories given with -f.")
	flags.StringVar(&opts.policyFile, "policy", "",
		"Policy file: a PolicyConfig document or a ConfigMap manifest holding one under config.yaml (default: the built-in defaults).")
	flags.StringVarP(&opts.output, "output", "o", report.FormatTable,
		"Output format: table, json, sarif (SARIF 2.1.0, for code scanning) or junit (JUnit XML, for CI test reports).")
	flags.StringVarP(&opts.namespace, "namespace", "n", corev1.NamespaceDefault, "Namespace of objects that name none.")
	flags.StringVar(&opts.ownNamespace, "eksguard-namespace", server.DefaultNamespace,
		"Namespace eksguard runs in; the policy always excludes it.")
	flags.BoolVar(&opts.ignoreUnknownKinds, "ignore-unknown-kinds", false,
		"Skip objects of kinds that are not built into Kubernetes (custom resources) instead of failing.")
	return cmd
}

// input is what check reads.
func (opts checkOptions) input(stdin io.Reader) manifest.Options {
	return manifest.Options{Paths: opts.files, Recursive: opts.recursive, Stdin: stdin,
		Namespace: opts.namespace, IgnoreUnknownKinds: opts.ignoreUnknownKinds}
}

func runCheck(ctx context.Context, opts checkOptions, streams Streams) error {
	policy, err := checkPolicy(opts)
	if err != nil {
		return &exitError{code: ExitUnusable, err: err}
	}
	objects, inputErrs, err := manifest.Load(opts.input(streams.In))
	if err != nil {
		return &exitError{code: ExitUnusable, err: err}
	}
	rep := report.Check{Policy: policy.Source}
	if len(inputErrs) > 0 {
		// A partial input could change coverage and groups: judge nothing.
		for _, e := range inputErrs {
			src := e.Source
			rep.Errors = append(rep.Errors, report.Error{Source: &src, Message: e.Err.Error()})
		}
		if opts.output != report.FormatTable {
			if err := report.WriteCheck(streams.Out, opts.output, Version, rep); err != nil {
				return err
			}
		}
		for _, e := range inputErrs {
			fmt.Fprintf(streams.Err, "Error: %v\n", e)
		}
		return &exitError{code: ExitUnusable}
	}

	store := storeFor(objects)
	rep.Assumptions = assumptions(objects, store, policy)
	engine := offline.New(policy, store)
	for _, obj := range objects {
		var r offline.Result
		if obj.Obj == nil {
			r = offline.Result{APIVersion: obj.GVK.GroupVersion().String(), Kind: obj.GVK.Kind,
				Namespace: obj.Namespace, Name: obj.Name, Verdict: offline.VerdictSkipped}
		} else {
			r = engine.Evaluate(ctx, obj.GVK, obj.Obj)
		}
		// The Gateway API's objects and ACK's Listeners and Rules are
		// context in input order, as kubectl apply creates them: a Gateway
		// (a Listener) is judged with the routes (Rules) before it, and a
		// later route (Rule) with it. decodeObject has read them.
		if u, ok := obj.Obj.(*unstructured.Unstructured); ok {
			switch {
			case lbtls.IsGatewayKind(obj.GVK):
				_ = store.AddGatewayObject(u)
			case obj.GVK == lbtls.ACKListenerGVK || obj.GVK == lbtls.ACKRuleGVK:
				_ = store.AddACKObject(u)
			}
		}
		src := obj.Source
		r.Source = &src
		rep.Results = append(rep.Results, r)
		rep.Summary.Add(r.Verdict)
	}
	if err := report.WriteCheck(streams.Out, opts.output, Version, rep); err != nil {
		return err
	}
	return exitFor(rep.Summary)
}

func checkPolicy(opts checkOptions) (*config.Policy, error) {
	if opts.policyFile == "" {
		p := config.DefaultPolicy(opts.ownNamespace)
		p.Source = "built-in defaults"
		return p, nil
	}
	p, err := loadPolicyFile(opts.policyFile, opts.ownNamespace)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p.Source = opts.policyFile
	return p, nil
}

// storeFor is the cluster the input describes: its namespaces,
// NetworkPolicies, IngressClasses, ALB group members and what its
// data-plane objects say of policy enforcement. A new Ingress that names
// no class gets the default IngressClass first, as the API server's
// DefaultIngressClass admission plugin gives it before webhooks run.
func storeFor(objects []*manifest.Object) *offline.Store {
	store := offline.NewStore()
	for _, obj := range objects {
		switch o := obj.Obj.(type) {
		case *networkingv1.IngressClass:
			store.AddIngressClass(o)
		case *unstructured.Unstructured:
			// decodeObject has read these.
			switch gvk := o.GroupVersionKind(); {
			case lbtls.IsClassParams(gvk):
				params, _ := lbtls.ClassParamsFrom(o)
				store.AddClassParams(params)
			case gvk == lbtls.ACKLoadBalancerGVK:
				lb, _ := lbtls.ACKLoadBalancerFrom(o)
				store.AddACKLoadBalancer(o.GetNamespace(), o.GetName(), lb)
			}
		}
	}
	store.SetDataPlane(manifest.DataPlaneFacts(objects))
	classes, _ := store.IngressClasses(context.Background())
	for _, obj := range objects {
		switch o := obj.Obj.(type) {
		case *corev1.Namespace:
			store.AddNamespace(o.Name, o.Labels)
		case *networkingv1.NetworkPolicy:
			store.AddNetworkPolicy(o)
		case *networkingv1.Ingress:
			_, annotated := o.Annotations[lbtls.AnnotationIngressClass]
			if def := classes.Default(); o.Spec.IngressClassName == nil && !annotated && def != "" {
				o.Spec.IngressClassName = &def
			}
			store.AddIngress(o)
		case *unstructured.Unstructured:
			switch gvk := o.GroupVersionKind(); {
			case lbtls.IsClassParams(gvk), gvk == lbtls.ACKLoadBalancerGVK, gvk == lbtls.ACKListenerGVK, gvk == lbtls.ACKRuleGVK,
				lbtls.IsGatewayKind(gvk):
			case gvk == netpol.CalicoTierGVK:
				store.AddCalicoTier(o)
			default:
				store.AddPolicyObject(o)
			}
		}
	}
	return store
}

// assumptions are what check takes for granted about the cluster because
// its input does not say: with Ingresses but no IngressClass, class names
// decide which Ingresses are ALBs; a Gateway whose GatewayClass the input
// does not hold is not the AWS Load Balancer Controller's; a default-deny
// the data plane shows for one kind of node does not hold for pods that
// can run on the other kind, which the input does not show.
func assumptions(objects []*manifest.Object, store *offline.Store, policy *config.Policy) []string {
	out := dataPlaneAssumptions(store.DataPlane())
	classes := map[string]bool{}
	for _, obj := range objects {
		if obj.GVK == lbtls.GatewayClassKind.GVK {
			classes[obj.Name] = true
		}
	}
	missing := map[string]bool{}
	for _, obj := range objects {
		if obj.GVK != lbtls.GatewayKind.GVK {
			continue
		}
		class, _, _ := unstructured.NestedString(obj.Obj.(*unstructured.Unstructured).Object, "spec", "gatewayClassName")
		if !classes[class] && !missing[class] {
			missing[class] = true
			out = append(out, fmt.Sprintf("the input has no GatewayClass %s: its Gateways are taken for another controller's, not judged", class))
		}
	}
	if store.HasIngressClasses() {
		return out
	}
	for _, obj := range objects {
		if _, ok := obj.Obj.(*networkingv1.Ingress); ok {
			return append(out, fmt.Sprintf("the input has no IngressClass: Ingresses of class %s are taken for ALB Ingresses (rules.loadBalancerTLS.albIngressClasses)",
				strings.Join(policy.Config.Rules.LoadBalancerTLS.ALBIngressClasses, ", ")))
		}
	}
	return out
}

// dataPlaneAssumptions say why a default-deny the input's data-plane
// objects show is not taken for unpinned pods: the other kind of node is
// unknown (dataplane.FromObjects: a source the input does not show).
func dataPlaneAssumptions(f *dataplane.Facts) []string {
	switch {
	case f == nil:
		return nil
	case f.StrictMode() && !f.Read(dataplane.SourceNodeClasses):
		return []string{fmt.Sprintf("the input has no NodeClass, so Auto Mode nodes may allow by default: "+
			"VPC CNI strict mode (%s) is not taken to isolate pods", dataplane.SourceAWSNode)}
	case !f.Read(dataplane.SourceAWSNode) && f.Read(dataplane.SourceNodeClasses) && len(f.NodeClasses) > 0:
		for class := range f.NodeClasses {
			if deny, known := f.NodeClassDefaultDeny(class); !deny || !known {
				return nil
			}
		}
		return []string{fmt.Sprintf("the input has no %s, so EC2 nodes may allow by default: "+
			"only pods pinned to Auto Mode nodes are taken to be isolated by their NodeClass's DefaultDeny", dataplane.SourceAWSNode)}
	}
	return nil
}

// exitFor is the exit status of a report.
func exitFor(s report.Summary) error {
	switch {
	case s.Errors > 0:
		return &exitError{code: ExitUnusable}
	case s.Denied > 0:
		return &exitError{code: ExitViolations}
	}
	return nil
}
