package lbtls

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
)

// Classes reads the cluster's IngressClasses and IngressClassParams: the
// manager's cache in the webhook, the input in check.
type Classes interface {
	IngressClasses(ctx context.Context) (IngressClasses, error)
	// ClassParams returns the named IngressClassParams of kind (one of
	// ClassParamsKinds), or an error wrapping ErrNoClassParams when there
	// is none (or the kind is not served).
	ClassParams(ctx context.Context, kind schema.GroupVersionKind, name string) (*ClassParams, error)
}

// ErrNoClassParams: the IngressClassParams does not exist.
var ErrNoClassParams = errors.New("no such IngressClassParams")

// NewIngressHandler judges Ingresses on CREATE and UPDATE (see unchanged),
// each with the other members of its ALB group, which groups reads (the
// manager's cache, indexed by IngressGroupNameField and
// IngressClassNameField), and with its class, which classes reads. live,
// when set, reads Ingresses from the API server to confirm a denial that
// depends on a group: the cache can be a moment behind, as when a group's
// Ingresses are applied together.
func NewIngressHandler(decider decision.Decider, groups, live client.Reader, classes Classes) admit.Answerer {
	return newHandler(Ingresses, decider, decodeIngress,
		func(i *networkingv1.Ingress) (*metav1.ObjectMeta, any) { return &i.ObjectMeta, i.Spec },
		ingressJudge{groups: groups, live: live, classes: classes}.judge)
}

// ingressJudge judges an Ingress with its group.
type ingressJudge struct {
	groups, live client.Reader
	classes      Classes
}

// namespaceLabels reads a namespace's labels (decision.Snapshot).
type namespaceLabels interface {
	NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error)
}

func (j ingressJudge) judge(ctx context.Context, r *admit.Review[networkingv1.Ingress]) decision.Answer {
	ing := r.Object
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	classes, err := j.classes.IngressClasses(ctx)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	self, class, err := j.member(ctx, r.Snapshot, ing, classes, settings)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	requireTLS := settings.OtherIngressClasses == config.OtherIngressRequireTLS
	unknown := !class.ALB && class.NotBuilt == "" && AWSMade(class.Controller)
	if !class.ALB && class.NotBuilt == "" && !requireTLS && (!unknown || settings.UnknownClasses.AWS == config.ModeOff) {
		return r.Respond(ctx)
	}
	d, err := r.Decide(ctx, ing, config.RuleLoadBalancerTLS)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	ruling := decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: d.For(settings.Mode)}
	switch {
	case ruling.Decision.Mode == config.ModeOff:
	case unknown:
		ruling = unknownClassRuling(d, settings, settings.UnknownClasses.AWS, ingressClassNamePath,
			"controller", class.Controller)
	case class.NotBuilt != "" && !requireTLS:
		// Nothing listens, so nothing to deny; the LBC's own webhook
		// refuses most of these. Say it, and judge when it changes.
		ruling.Decision.Mode = config.ModeWarn
		ruling.Errs = field.ErrorList{field.Invalid(ingressClassNamePath, class.Class,
			"the LBC builds no load balancer for this Ingress: "+class.NotBuilt)}
	case !class.ALB:
		ruling.Errs = IngressTLSCoverage(ing, class.Class)
	default:
		members, err := j.groupMembers(ctx, j.groups, r.Snapshot, self, classes, settings)
		if err != nil {
			return r.Undecided(ctx, err, ruling.Decision)
		}
		result := CheckIngressGroup(members, settings)
		if len(result.Errs) > 0 && ruling.Decision.Mode == config.ModeEnforce && self.GroupName() != "" && j.live != nil {
			// Confirm the denial with the group as the API server has it.
			live := &liveIngresses{api: j.live}
			if members, err := j.groupMembers(ctx, live, r.Snapshot, self, classes, settings); err != nil {
				logf.FromContext(ctx).Error(err, "could not confirm an ALB group live; answering from the cache", logkeys.IngressGroup, self.GroupName())
			} else {
				result = CheckIngressGroup(members, settings)
			}
		}
		ruling.Errs = result.Errs
		if result.SkippedInternal {
			logf.FromContext(ctx).V(1).Info("skipping internal ALB", logkeys.IngressGroup, self.GroupName())
		}
	}
	return r.Respond(ctx, ruling)
}

// member classifies ing and loads its class's IngressClassParams, as the
// LBC's class loader does, including the params' namespaceSelector.
func (j ingressJudge) member(ctx context.Context, namespaces namespaceLabels, ing *networkingv1.Ingress,
	classes IngressClasses, settings config.LoadBalancerTLSSettings) (Member, Classification, error) {
	class := Classify(ing, classes, settings)
	m := Member{Ingress: ing, Owner: class.Owner}
	if !class.ALB || class.Params == "" {
		return m, class, nil
	}
	params, err := j.classes.ClassParams(ctx, ClassParamsKinds[class.Owner], class.Params)
	if errors.Is(err, ErrNoClassParams) {
		class.ALB, class.NotBuilt = false, fmt.Sprintf("IngressClass %q names IngressClassParams %q, which does not exist", class.Class, class.Params)
		return m, class, nil
	}
	if err != nil {
		return m, class, err
	}
	if params.NamespaceSelector != nil {
		nsLabels, err := namespaces.NamespaceLabels(ctx, ing.Namespace)
		if err != nil {
			return m, class, err
		}
		selector, err := metav1.LabelSelectorAsSelector(params.NamespaceSelector)
		if err != nil || !selector.Matches(nsLabels) {
			// validateIngressClassParamsNamespaceRestriction in class_loader.go.
			class.ALB, class.NotBuilt = false, fmt.Sprintf("the namespaceSelector of IngressClassParams %q does not select namespace %s", params.Name, ing.Namespace)
			return m, class, nil
		}
	}
	m.Params = params
	return m, class, nil
}

// groupMembers returns self followed by the other ALB Ingresses of its
// group (any namespace: the LBC's group names are cluster-wide), sorted by
// namespace/name: those whose group.name annotation names it and those
// whose class's IngressClassParams does, each kept only if its own class
// puts it in the group. Ingresses being deleted have left the group.
func (j ingressJudge) groupMembers(ctx context.Context, groups client.Reader, namespaces namespaceLabels, self Member,
	classes IngressClasses, settings config.LoadBalancerTLSSettings) ([]Member, error) {
	members := []Member{self}
	group := self.GroupName()
	if group == "" {
		return members, nil
	}
	candidates, err := listIngresses(ctx, groups, IngressGroupNameField, group)
	if err != nil {
		return nil, fmt.Errorf("listing the Ingresses of ALB group %q: %w", group, err)
	}
	byParams := classesOfGroup(ctx, j.classes, classes, self.Owner, group)
	for _, name := range byParams {
		byClass, err := listIngresses(ctx, groups, IngressClassNameField, name)
		if err != nil {
			return nil, fmt.Errorf("listing the Ingresses of IngressClass %q: %w", name, err)
		}
		candidates = append(candidates, byClass...)
	}
	// An Ingress may be listed by its group and its class.
	var seen map[types.NamespacedName]bool
	if len(byParams) > 0 {
		seen = map[types.NamespacedName]bool{}
	}
	for _, ing := range candidates {
		if ing.DeletionTimestamp != nil || (ing.Namespace == self.Namespace && ing.Name == self.Name) {
			continue
		}
		if seen != nil {
			key := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		m, class, err := j.member(ctx, namespaces, ing, classes, settings)
		if err != nil {
			return nil, err
		}
		// Another controller's group of the same name is another ALB.
		if class.ALB && m.Owner == self.Owner && m.GroupName() == group {
			members = append(members, m)
		}
	}
	slices.SortFunc(members[1:], func(a, b Member) int { return strings.Compare(ingressKey(a.Ingress), ingressKey(b.Ingress)) })
	return members, nil
}

// classesOfGroup names the ALB IngressClasses whose IngressClassParams put
// their Ingresses in group. A class whose params cannot be read has no
// Ingress the LBC builds, so it adds no member.
func classesOfGroup(ctx context.Context, reader Classes, classes IngressClasses, owner Owner, group string) []string {
	var out []string
	kind := ClassParamsKinds[owner]
	for name, class := range classes.ByName {
		p := class.Spec.Parameters
		if albControllers[class.Spec.Controller] != owner || p == nil || p.Kind != kind.Kind {
			continue
		}
		if params, err := reader.ClassParams(ctx, kind, p.Name); err == nil && params.Group == group {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
