package cli

import (
	"cmp"
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/internal/app/report"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// auditPageSize is the page size of every list: the audit holds one page of
// objects at a time, whatever the size of the cluster.
const auditPageSize = 500

type auditOptions struct {
	policyFile      string
	policyNamespace string
	policyName      string
	ownNamespace    string
	namespace       string
	output          string
	kubeContext     string
	pageSize        int64
	// maxResults caps each policy report; applyReports writes them.
	maxResults   int
	applyReports bool
}

func newAuditCommand(streams Streams) *cobra.Command {
	opts := auditOptions{pageSize: auditPageSize, maxResults: report.DefaultMaxReportResults}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Judge what a cluster already runs, as the webhook would admit it today",
		Long: `Judge the objects a cluster already runs under the policy in force, with the
webhook's own admission handlers: which would eksguard deny, warn about or
mutate if they were created now? Read-only.

Audited: Deployments, StatefulSets, DaemonSets, CronJobs and
ReplicationControllers; ReplicaSets not controlled by a Deployment; Jobs not
controlled by a CronJob; Pods not controlled by one of those workloads (a
workload's pods are judged once, through its pod template); Services and
Ingresses. Finished pods and objects being deleted are left out.

The policy is the cluster's policy ConfigMap (the built-in defaults when
there is none), or --policy FILE. Lists are paged, so memory stays flat on
large clusters; NetworkPolicies, Ingresses and namespace labels are read in
full first, with the VPC CNI's objects (the kube-system DaemonSet aws-node and
ConfigMap amazon-vpc-cni, Auto Mode NodeClasses and Karpenter NodePools) that
say which pods the data plane denies by default; one it may not read is
taken as unknown.

Exit status: 0 when nothing would be denied, 1 when something would be
denied, 2 when the cluster or the policy cannot be read.`,
		Example: `  # The current kubectl context, under the policy in force
  eksguard audit

  # One namespace, against a policy you are about to roll out, as JSON
  eksguard audit -n payments --policy new-policy.yaml -o json

  # Policy reports for Policy Reporter, written to the cluster
  eksguard audit -o openreports --apply-reports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reportFormat := opts.output == report.FormatOpenReports || opts.output == report.FormatPolicyReport
			if opts.output != report.FormatTable && opts.output != report.FormatJSON && !reportFormat {
				return usageError(fmt.Errorf("--output %q: use table, json, openreports or policyreport", opts.output))
			}
			if opts.applyReports && !reportFormat {
				return usageError(errors.New("--apply-reports writes policy reports: use it with -o openreports or -o policyreport"))
			}
			if opts.maxResults <= 0 {
				return usageError(fmt.Errorf("--max-results %d: must be positive", opts.maxResults))
			}
			if opts.pageSize <= 0 {
				return usageError(fmt.Errorf("--chunk-size %d: must be positive", opts.pageSize))
			}
			if opts.policyNamespace == "" {
				opts.policyNamespace = opts.ownNamespace
			}
			discardLogs()
			cfg, err := ctrlconfig.GetConfigWithContext(opts.kubeContext)
			if err != nil {
				return &exitError{code: ExitUnusable, err: fmt.Errorf("loading the Kubernetes client configuration: %w", err)}
			}
			return runAudit(cmd.Context(), cfg, opts, streams.Out)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.policyFile, "policy", "",
		"Audit against this policy file (a PolicyConfig document or a ConfigMap manifest) instead of the cluster's.")
	flags.StringVar(&opts.policyNamespace, "policy-configmap-namespace", "",
		"Namespace of the policy ConfigMap (default: --eksguard-namespace).")
	flags.StringVar(&opts.policyName, "policy-configmap-name", server.DefaultPolicyConfigMapName, "Name of the policy ConfigMap.")
	flags.StringVar(&opts.ownNamespace, "eksguard-namespace", server.DefaultNamespace,
		"Namespace eksguard runs in; the policy always excludes it.")
	flags.StringVarP(&opts.namespace, "namespace", "n", "", "Audit only this namespace (default: all namespaces).")
	flags.StringVarP(&opts.output, "output", "o", report.FormatTable,
		"Output format: table, json, openreports (openreports.io/v1alpha1 Reports, one per namespace with a finding) or policyreport (wgpolicyk8s.io/v1alpha2 PolicyReports).")
	flags.IntVar(&opts.maxResults, "max-results", report.DefaultMaxReportResults,
		"Results kept per policy report (findings first); its summary still counts every result.")
	flags.BoolVar(&opts.applyReports, "apply-reports", false,
		"Write the policy reports to the cluster with server-side apply, and delete eksguard's reports of namespaces that are now clean.")
	flags.Int64Var(&opts.pageSize, "chunk-size", auditPageSize, "Objects per list request (as kubectl get --chunk-size).")
	flags.StringVar(&opts.kubeContext, "context", "", "Kubeconfig context to use (default: the current context).")
	goFlags := goflag.NewFlagSet("audit", goflag.ContinueOnError)
	addKubeconfigFlag(goFlags)
	flags.AddGoFlagSet(goFlags)
	return cmd
}

// auditKind is one kind the audit lists, and which of its objects another
// audited object already stands for.
type auditKind struct {
	gvk     schema.GroupVersionKind
	newList func() client.ObjectList
	// coveredBy lists the controllers whose own audit covers an object.
	coveredBy []schema.GroupKind
	listOpts  []client.ListOption
	// custom: a kind the scheme does not know, listed where served.
	custom bool
}

// Controllers whose objects stand for those they create (an audited object
// whose controller is one of these is judged through that controller).
var (
	gkDeployment = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	gkCronJob    = schema.GroupKind{Group: "batch", Kind: "CronJob"}
	controlledBy = map[schema.GroupKind][]schema.GroupKind{
		{Group: "apps", Kind: "ReplicaSet"}: {gkDeployment},
		{Group: "batch", Kind: "Job"}:       {gkCronJob},
		// The workloads that create pods from their template.
		{Kind: "Pod"}: {{Group: "apps", Kind: "ReplicaSet"}, {Group: "apps", Kind: "StatefulSet"},
			{Group: "apps", Kind: "DaemonSet"}, {Group: "batch", Kind: "Job"}, {Kind: "ReplicationController"}},
	}
	// runningPods leaves out finished pods, which have no network and never
	// run again.
	runningPods = fields.AndSelectors(
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
	)
)

// auditKinds are the kinds the routes admit on CREATE, workloads first:
// each is listed, typed, from the scheme.
func auditKinds(scheme *runtime.Scheme) []auditKind {
	var gvks []schema.GroupVersionKind
	for _, k := range netpol.WorkloadKinds() {
		gvks = append(gvks, k.GVK)
	}
	for _, r := range webhook.Routes {
		for _, k := range r.Kinds {
			if r.Admits(k.GVK) && !slices.Contains(gvks, k.GVK) {
				gvks = append(gvks, k.GVK)
			}
		}
	}
	kinds := make([]auditKind, 0, len(gvks))
	for _, gvk := range gvks {
		listGVK := gvk.GroupVersion().WithKind(gvk.Kind + "List")
		kind := auditKind{gvk: gvk, coveredBy: controlledBy[gvk.GroupKind()], newList: func() client.ObjectList {
			list, err := scheme.New(listGVK)
			if err != nil {
				panic(fmt.Sprintf("the scheme has no %s: %v", listGVK, err))
			}
			return list.(client.ObjectList)
		}}
		if !scheme.Recognizes(listGVK) {
			// A custom kind (ACK's Listener): listed where served.
			kind.newList, kind.custom = unstructuredList(gvk), true
		}
		if gvk.GroupKind() == (schema.GroupKind{Kind: "Pod"}) {
			kind.listOpts = []client.ListOption{client.MatchingFieldsSelector{Selector: runningPods}}
		}
		kinds = append(kinds, kind)
	}
	// Controllers before the kinds they control (CronJob before Job before
	// Pod): an object is covered only by a controller already judged.
	slices.SortStableFunc(kinds, func(a, b auditKind) int {
		return cmp.Compare(controlDepth(a.gvk.GroupKind()), controlDepth(b.gvk.GroupKind()))
	})
	return kinds
}

// controlDepth is how many controllers stand above a kind's objects.
func controlDepth(gk schema.GroupKind) int {
	depth := 0
	for _, controller := range controlledBy[gk] {
		depth = max(depth, 1+controlDepth(controller))
	}
	return depth
}

// isController reports whether objects of gk control audited objects.
func isController(gk schema.GroupKind) bool {
	for _, controllers := range controlledBy {
		if slices.Contains(controllers, gk) {
			return true
		}
	}
	return false
}

// coveredByController reports whether obj's controller is one of kinds and
// was judged in this audit (judged holds their UIDs): a controller that is
// gone, or held in deletion, no longer stands for what still runs (the
// Kyverno CVE-2023-34091 pattern: a Deployment kept in deletion by a
// finalizer must not hide its running pods).
func coveredByController(obj metav1.Object, kinds []schema.GroupKind, judged map[types.UID]bool) bool {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || !judged[ref.UID] {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false
	}
	return slices.Contains(kinds, schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
}

// namespaceAudit is what the audit found in one namespace. Admitted objects
// are only counted, so memory grows with findings, not with the cluster.
type namespaceAudit struct {
	Namespace string           `json:"namespace"`
	Summary   report.Summary   `json:"summary"`
	Findings  []offline.Result `json:"findings,omitempty"`
}

// auditReport is the JSON form of an audit.
type auditReport struct {
	Policy     string            `json:"policy"`
	Namespaces []*namespaceAudit `json:"namespaces"`
	Summary    report.Summary    `json:"summary"`
	// ControlledObjects counts objects judged through their controller.
	ControlledObjects int `json:"controlledObjects"`
	// reports gathers policy-report results, when asked for.
	reports *report.PolicyReports
}

func runAudit(ctx context.Context, cfg *rest.Config, opts auditOptions, out io.Writer) error {
	scheme := manifest.NewScheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return &exitError{code: ExitUnusable, err: fmt.Errorf("creating the client: %w", err)}
	}
	rep, err := audit(ctx, c, scheme, opts)
	if err != nil {
		return &exitError{code: ExitUnusable, err: err}
	}
	if rep.reports != nil {
		objs, err := rep.reports.Objects(opts.output)
		if err != nil {
			return err
		}
		if opts.applyReports {
			if err := report.ApplyPolicyReports(ctx, c, objs, opts.output, opts.namespace); err != nil {
				return &exitError{code: ExitUnusable, err: err}
			}
		}
		if err := report.WriteYAMLDocuments(out, objs); err != nil {
			return err
		}
		return exitFor(rep.Summary)
	}
	if opts.output == report.FormatJSON {
		if err := report.WriteJSON(out, rep); err != nil {
			return err
		}
	} else {
		writeAuditTable(out, rep)
	}
	return exitFor(rep.Summary)
}

// audit judges the cluster's objects, page by page.
func audit(ctx context.Context, c client.Reader, scheme *runtime.Scheme, opts auditOptions) (*auditReport, error) {
	policy, err := auditPolicy(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	store, err := loadAuditContext(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	engine := offline.New(policy, store)
	rep := &auditReport{Policy: policy.Source}
	if opts.output == report.FormatOpenReports || opts.output == report.FormatPolicyReport {
		rep.reports = report.NewPolicyReports(opts.maxResults, time.Now())
	}
	byNamespace := map[string]*namespaceAudit{}
	// judged are the UIDs of the controllers judged so far, which stand for
	// the objects they control.
	judged := map[types.UID]bool{}
	for _, kind := range auditKinds(scheme) {
		// Only controllers' UIDs are kept: pods, the most objects, control nothing.
		controls := isController(kind.gvk.GroupKind())
		err := listPages(ctx, c, kind.newList, opts, kind.listOpts, func(obj client.Object) {
			// Objects being deleted are on their way out, not something to
			// fix; a pod still runs until it is gone, so it is judged.
			if obj.GetDeletionTimestamp() != nil && kind.gvk.GroupKind() != (schema.GroupKind{Kind: "Pod"}) {
				return
			}
			if controls {
				judged[obj.GetUID()] = true
			}
			if coveredByController(obj, kind.coveredBy, judged) {
				rep.ControlledObjects++
				return
			}
			r := engine.Evaluate(ctx, kind.gvk, obj)
			ns := byNamespace[r.Namespace]
			if ns == nil {
				ns = &namespaceAudit{Namespace: r.Namespace}
				byNamespace[r.Namespace] = ns
			}
			ns.Summary.Add(r.Verdict)
			if rep.reports != nil {
				rep.reports.Add(kind.gvk, r)
			}
			if r.Verdict != offline.VerdictAdmitted {
				ns.Findings = append(ns.Findings, r)
			}
		})
		if kind.custom && (meta.IsNoMatchError(err) || apierrors.IsNotFound(err)) {
			continue // the cluster does not serve it
		}
		if err != nil {
			return nil, fmt.Errorf("listing %ss: %w", kind.gvk.Kind, err)
		}
	}
	for _, ns := range byNamespace {
		rep.Summary.Merge(ns.Summary)
		rep.Namespaces = append(rep.Namespaces, ns)
	}
	slices.SortFunc(rep.Namespaces, func(a, b *namespaceAudit) int { return cmp.Compare(a.Namespace, b.Namespace) })
	return rep, nil
}

func auditPolicy(ctx context.Context, c client.Reader, opts auditOptions) (*config.Policy, error) {
	if opts.policyFile != "" {
		p, err := loadPolicyFile(opts.policyFile, opts.ownNamespace)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		p.Source = opts.policyFile
		return p, nil
	}
	return loadClusterPolicy(ctx, c, client.ObjectKey{Namespace: opts.policyNamespace, Name: opts.policyName}, opts.ownNamespace)
}

// loadAuditContext reads what the rules look up: namespace labels, the
// NetworkPolicies of the audited namespaces, and every Ingress (ALB groups
// span namespaces).
func loadAuditContext(ctx context.Context, c client.Reader, opts auditOptions) (*offline.Store, error) {
	store := offline.NewStore()
	namespaces := func() client.ObjectList {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
		return l
	}
	err := listPages(ctx, c, namespaces, auditOptions{pageSize: opts.pageSize}, nil, func(obj client.Object) {
		store.AddNamespace(obj.GetName(), obj.GetLabels())
	})
	if err != nil {
		return nil, fmt.Errorf("listing Namespaces: %w", err)
	}
	err = listPages(ctx, c, func() client.ObjectList { return &networkingv1.NetworkPolicyList{} }, opts, nil, func(obj client.Object) {
		store.AddNetworkPolicy(obj.(*networkingv1.NetworkPolicy))
	})
	if err != nil {
		return nil, fmt.Errorf("listing NetworkPolicies: %w", err)
	}
	for _, kind := range netpol.Kinds {
		if kind.BuiltIn() {
			continue
		}
		kindOpts := opts
		if !kind.Namespaced {
			kindOpts = auditOptions{pageSize: opts.pageSize}
		}
		err := listServed(ctx, c, kind.GVK, kindOpts, func(u *unstructured.Unstructured) error {
			store.AddPolicyObject(u)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s objects: %w", kind.Name, err)
		}
	}
	// Calico's tiers, whose default action decides what a policy isolates.
	err = listServed(ctx, c, netpol.CalicoTierGVK, auditOptions{pageSize: opts.pageSize}, func(u *unstructured.Unstructured) error {
		store.AddCalicoTier(u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing Calico Tiers: %w", err)
	}
	err = listPages(ctx, c, func() client.ObjectList { return &networkingv1.IngressClassList{} }, auditOptions{pageSize: opts.pageSize}, nil,
		func(obj client.Object) { store.AddIngressClass(obj.(*networkingv1.IngressClass)) })
	if err != nil {
		return nil, fmt.Errorf("listing IngressClasses: %w", err)
	}
	for _, kind := range lbtls.ClassParamsKinds {
		err = listServed(ctx, c, kind, auditOptions{pageSize: opts.pageSize}, func(u *unstructured.Unstructured) error {
			params, err := lbtls.ClassParamsFrom(u)
			if err == nil {
				store.AddClassParams(params)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s IngressClassParams: %w", kind.Group, err)
		}
	}
	// The Gateway API objects and LoadBalancerConfigurations: a Gateway is
	// judged with its routes, a route with its Gateways.
	for _, kind := range lbtls.GatewayKinds() {
		err = listServed(ctx, c, kind.GVK, auditOptions{pageSize: opts.pageSize}, store.AddGatewayObject)
		if err != nil {
			return nil, fmt.Errorf("listing %ss: %w", kind.GVK.Kind, err)
		}
	}
	// ACK's Listeners and Rules: a Listener is judged with its Rules, a
	// Rule with its Listener.
	for _, gvk := range []schema.GroupVersionKind{lbtls.ACKListenerGVK, lbtls.ACKRuleGVK} {
		if err := listServed(ctx, c, gvk, auditOptions{pageSize: opts.pageSize}, store.AddACKObject); err != nil {
			return nil, fmt.Errorf("listing ACK %ss: %w", gvk.Kind, err)
		}
	}
	// The load balancers ACK Listeners reference (their scheme).
	err = listServed(ctx, c, lbtls.ACKLoadBalancerGVK, auditOptions{pageSize: opts.pageSize}, func(u *unstructured.Unstructured) error {
		lb, err := lbtls.ACKLoadBalancerFrom(u)
		if err == nil {
			store.AddACKLoadBalancer(u.GetNamespace(), u.GetName(), lb)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing ACK LoadBalancers: %w", err)
	}
	err = listPages(ctx, c, func() client.ObjectList { return &networkingv1.IngressList{} }, auditOptions{pageSize: opts.pageSize}, nil,
		func(obj client.Object) { store.AddIngress(obj.(*networkingv1.Ingress)) })
	if err != nil {
		return nil, fmt.Errorf("listing Ingresses: %w", err)
	}
	facts, err := readDataPlane(ctx, c, opts.pageSize)
	if err != nil {
		return nil, err
	}
	store.SetDataPlane(facts)
	return store, nil
}

// readDataPlane reads what the cluster says of the VPC CNI's enforcement,
// whatever namespace is audited, as the webhook's watcher does
// (dataplane.Read), with audit's paged lists.
func readDataPlane(ctx context.Context, c client.Reader, pageSize int64) (*dataplane.Facts, error) {
	return dataplane.Read(ctx, c, func(ctx context.Context, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
		var items []*unstructured.Unstructured
		err := listPages(ctx, c, unstructuredList(gvk), auditOptions{pageSize: pageSize}, nil, func(obj client.Object) {
			items = append(items, obj.(*unstructured.Unstructured))
		})
		return items, err
	}, nil)
}

// listServed lists the objects of a custom kind with listPages and hands
// each, with its kind set, to fn; a cluster that does not serve the kind
// has none. The first error of fn is the result.
func listServed(ctx context.Context, c client.Reader, gvk schema.GroupVersionKind, opts auditOptions,
	fn func(*unstructured.Unstructured) error) error {
	var fnErr error
	err := listPages(ctx, c, unstructuredList(gvk), opts, nil, func(obj client.Object) {
		u := obj.(*unstructured.Unstructured)
		u.SetGroupVersionKind(gvk)
		if err := fn(u); err != nil && fnErr == nil {
			fnErr = err
		}
	})
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return fnErr
}

// unstructuredList makes lists of a kind the scheme does not know.
func unstructuredList(gvk schema.GroupVersionKind) func() client.ObjectList {
	return func() client.ObjectList {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return l
	}
}

// listPages lists a kind (in opts.namespace, or everywhere) a page at a
// time and hands each object to fn.
func listPages(ctx context.Context, c client.Reader, newList func() client.ObjectList, opts auditOptions,
	extra []client.ListOption, fn func(client.Object)) error {
	continueToken := ""
	for {
		list := newList()
		listOpts := append([]client.ListOption{client.Limit(opts.pageSize), client.Continue(continueToken)}, extra...)
		if opts.namespace != "" {
			listOpts = append(listOpts, client.InNamespace(opts.namespace))
		}
		if err := c.List(ctx, list, listOpts...); err != nil {
			if apierrors.IsResourceExpired(err) {
				return fmt.Errorf("%w: the audit outlived the API server's list snapshot; re-run it, with a larger --chunk-size", err)
			}
			return err
		}
		err := meta.EachListItem(list, func(o runtime.Object) error {
			obj, ok := o.(client.Object)
			if !ok {
				return fmt.Errorf("unexpected list item %T", o)
			}
			fn(obj)
			return nil
		})
		if err != nil {
			return err
		}
		if continueToken = list.GetContinue(); continueToken == "" {
			return nil
		}
	}
}

func writeAuditTable(w io.Writer, rep *auditReport) {
	fmt.Fprintf(w, "Policy: %s\n", rep.Policy)
	fmt.Fprintln(w, "Verdicts say what eksguard would answer if each object were created now.")
	withFindings := 0
	for _, ns := range rep.Namespaces {
		if len(ns.Findings) == 0 {
			continue
		}
		withFindings++
		fmt.Fprintf(w, "\nNamespace %s: %s\n", ns.Namespace, ns.Summary)
		t := report.Table{Header: []string{"RESULT", "KIND", "NAME"}}
		for _, r := range ns.Findings {
			t.Add([]string{string(r.Verdict), r.Kind, r.Name}, report.Details(r))
		}
		t.Write(w, "  ")
	}
	s := rep.Summary
	fmt.Fprintf(w, "\nAudited %d objects in %d namespaces: %s.", s.Checked, len(rep.Namespaces), s)
	if rep.ControlledObjects > 0 {
		fmt.Fprintf(w, " %d more judged through their controller.", rep.ControlledObjects)
	}
	fmt.Fprintln(w)
	if withFindings > 0 {
		fmt.Fprintln(w)
		t := report.Table{Header: []string{"NAMESPACE", "CHECKED", "ADMITTED", "MUTATED", "WARNED", "DENIED"}}
		for _, ns := range rep.Namespaces {
			if len(ns.Findings) == 0 {
				continue
			}
			c := ns.Summary
			t.Add([]string{ns.Namespace, fmt.Sprint(c.Checked), fmt.Sprint(c.Admitted), fmt.Sprint(c.Mutated),
				fmt.Sprint(c.Warned), fmt.Sprint(c.Denied)}, nil)
		}
		t.Write(w, "")
	}
}
