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
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/webhook/lbtls"
)

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
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
that policy namespace selectors read. Objects without a namespace go to
--namespace. Server-side defaults that the rules depend on are applied first.

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
			if !validOutput(opts.output) {
				return usageError(fmt.Errorf("--output %q: use %s", opts.output, strings.Join(outputs, ", ")))
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
	flags.StringVarP(&opts.output, "output", "o", outputTable,
		"Output format: table, json, sarif (SARIF 2.1.0, for code scanning) or junit (JUnit XML, for CI test reports).")
	flags.StringVarP(&opts.namespace, "namespace", "n", corev1.NamespaceDefault, "Namespace of objects that name none.")
	flags.StringVar(&opts.ownNamespace, "eksguard-namespace", server.DefaultNamespace,
		"Namespace eksguard runs in; the policy always excludes it.")
	flags.BoolVar(&opts.ignoreUnknownKinds, "ignore-unknown-kinds", false,
		"Skip objects of kinds that are not built into Kubernetes (custom resources) instead of failing.")
	return cmd
}

// checkReport is the JSON form of a check.
type checkReport struct {
	Policy  string        `json:"policy"`
	Results []Result      `json:"results"`
	Errors  []reportError `json:"errors,omitempty"`
	// Assumptions are what check took for granted because the input did not say.
	Assumptions []string `json:"assumptions,omitempty"`
	Summary     Summary  `json:"summary"`
}

type reportError struct {
	Source  *Source `json:"source,omitempty"`
	Message string  `json:"message"`
}

func runCheck(ctx context.Context, opts checkOptions, streams Streams) error {
	policy, err := checkPolicy(opts)
	if err != nil {
		return &exitError{code: ExitUnusable, err: err}
	}
	objects, inputErrs, err := loadInput(opts, streams)
	if err != nil {
		return &exitError{code: ExitUnusable, err: err}
	}
	report := checkReport{Policy: policy.Source}
	if len(inputErrs) > 0 {
		// A partial input could change coverage and groups: judge nothing.
		for _, e := range inputErrs {
			src := e.Source
			report.Errors = append(report.Errors, reportError{Source: &src, Message: e.Err.Error()})
		}
		if opts.output != outputTable {
			if err := writeReport(streams.Out, opts.output, report); err != nil {
				return err
			}
		}
		for _, e := range inputErrs {
			fmt.Fprintf(streams.Err, "Error: %v\n", e)
		}
		return &exitError{code: ExitUnusable}
	}

	store := storeFor(objects)
	report.Assumptions = assumptions(objects, store, policy)
	engine := newEngine(policy, store)
	for _, obj := range objects {
		var r Result
		if obj.Obj == nil {
			r = Result{APIVersion: obj.GVK.GroupVersion().String(), Kind: obj.GVK.Kind,
				Namespace: obj.Namespace, Name: obj.Name, Verdict: VerdictSkipped}
		} else {
			r = engine.Evaluate(ctx, obj.GVK, obj.Obj)
		}
		src := obj.Source
		r.Source = &src
		report.Results = append(report.Results, r)
		report.Summary.add(r.Verdict)
	}
	if err := writeReport(streams.Out, opts.output, report); err != nil {
		return err
	}
	return exitFor(report.Summary)
}

// writeReport writes report in format.
func writeReport(w io.Writer, format string, report checkReport) error {
	switch format {
	case outputJSON:
		return writeJSON(w, report)
	case outputSARIF:
		return writeSARIF(w, report)
	case outputJUnit:
		return writeJUnit(w, report)
	}
	writeCheckTable(w, report)
	return nil
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

// loadInput reads and decodes every -f argument. Problems with single
// documents are returned as InputErrors; an unreadable path is an error.
func loadInput(opts checkOptions, streams Streams) ([]*Object, []*InputError, error) {
	files, err := expandPaths(opts.files, opts.recursive)
	if err != nil {
		return nil, nil, err
	}
	docs, err := readDocuments(files, streams.In)
	if err != nil {
		return nil, nil, err
	}
	scheme := newScheme()
	var objects []*Object
	var errs []*InputError
	for _, doc := range docs {
		u, err := decodeDocument(doc)
		if err != nil {
			errs = append(errs, &InputError{Source: doc.source, Err: err})
			continue
		}
		if u == nil {
			continue
		}
		objs, objErrs := decodeObjects(u, doc.source, scheme, opts.namespace)
		for _, e := range objErrs {
			if opts.ignoreUnknownKinds && errors.Is(e.Err, errUnknownKind) {
				continue
			}
			if errors.Is(e.Err, errUnknownKind) {
				e.Err = fmt.Errorf("%w (pass --ignore-unknown-kinds to skip custom resources)", e.Err)
			}
			errs = append(errs, e)
		}
		objects = append(objects, objs...)
	}
	if len(objects) == 0 && len(errs) == 0 {
		return nil, nil, errors.New("the input holds no Kubernetes object")
	}
	return objects, errs, nil
}

// storeFor is the cluster the input describes: its namespaces,
// NetworkPolicies, IngressClasses and ALB group members. A new Ingress
// that names no class gets the default IngressClass first, as the API
// server's DefaultIngressClass admission plugin gives it before webhooks run.
func storeFor(objects []*Object) *objectStore {
	store := newObjectStore()
	for _, obj := range objects {
		switch o := obj.Obj.(type) {
		case *networkingv1.IngressClass:
			store.addIngressClass(o)
		case *unstructured.Unstructured:
			if o.GroupVersionKind() == lbtls.IngressClassParamsGVK {
				params, _ := lbtls.ClassParamsFrom(o) // decodeObject has read it
				store.addClassParams(params)
			}
		}
	}
	classes, _ := store.IngressClasses(context.Background())
	for _, obj := range objects {
		switch o := obj.Obj.(type) {
		case *corev1.Namespace:
			store.addNamespace(o.Name, o.Labels)
		case *networkingv1.NetworkPolicy:
			store.addNetworkPolicy(o)
		case *networkingv1.Ingress:
			_, annotated := o.Annotations[lbtls.AnnotationIngressClass]
			if def := classes.Default(); o.Spec.IngressClassName == nil && !annotated && def != "" {
				o.Spec.IngressClassName = &def
			}
			store.addIngress(o)
		case *unstructured.Unstructured:
			if o.GroupVersionKind() != lbtls.IngressClassParamsGVK {
				store.addPolicyObject(o)
			}
		}
	}
	return store
}

// assumptions are what check takes for granted about the cluster because
// its input does not say: with Ingresses but no IngressClass, class names
// decide which Ingresses are ALBs.
func assumptions(objects []*Object, store *objectStore, policy *config.Policy) []string {
	if len(store.ingressClasses) > 0 {
		return nil
	}
	for _, obj := range objects {
		if _, ok := obj.Obj.(*networkingv1.Ingress); ok {
			return []string{fmt.Sprintf("the input has no IngressClass: Ingresses of class %s are taken for ALB Ingresses (rules.loadBalancerTLS.albIngressClasses)",
				strings.Join(policy.Config.Rules.LoadBalancerTLS.ALBIngressClasses, ", "))}
		}
	}
	return nil
}

// exitFor is the exit status of a report.
func exitFor(s Summary) error {
	switch {
	case s.Errors > 0:
		return &exitError{code: ExitUnusable}
	case s.Denied > 0:
		return &exitError{code: ExitViolations}
	}
	return nil
}
