package lbtls

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/decision"
)

func policies(t *testing.T, mode config.Mode) decision.Decider {
	t.Helper()
	return ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.LoadBalancerTLS.Mode = mode }))
}

// verdict is what a typed validator answered.
type verdict struct {
	warnings admission.Warnings
	// denial is the 403 message; "" when admitted.
	denial string
}

// answer reads a validator's result; a non-403 error fails the test.
func answer(t *testing.T) func(admission.Warnings, error) verdict {
	return func(warnings admission.Warnings, err error) verdict {
		t.Helper()
		if err == nil {
			return verdict{warnings: warnings}
		}
		var status *apierrors.StatusError
		if !errors.As(err, &status) || status.ErrStatus.Code != http.StatusForbidden {
			t.Fatalf("want a 403 StatusError, got %v", err)
		}
		return verdict{warnings: warnings, denial: status.ErrStatus.Message}
	}
}

func TestServiceHandler(t *testing.T) {
	plaintext := service(corev1.ServiceTypeLoadBalancer, lbcAnnotations(nil), port("http", 80, corev1.ProtocolTCP))
	otherClass := plaintext.DeepCopy()
	otherClass.Spec.LoadBalancerClass = ptr.To("example.com/lb")
	excluded := plaintext.DeepCopy()
	excluded.Namespace = "kube-system"
	const detail = "port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"
	tests := []struct {
		name string
		mode config.Mode
		svc  *corev1.Service
		want verdict
	}{
		{"enforce denies", config.ModeEnforce, plaintext,
			verdict{denial: "eksguard denied this Service: [loadBalancerTLS] spec.ports[0]: " + detail}},
		{"warn warns", config.ModeWarn, plaintext,
			verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] " + detail}}},
		{"off allows", config.ModeOff, plaintext, verdict{}},
		{"another class is skipped", config.ModeEnforce, otherClass, verdict{}},
		{"excluded namespace", config.ModeEnforce, excluded, verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := apiServer{NewServiceHandler(policies(t, tt.mode))}
			ctx := context.Background()
			for op, validate := range map[string]func() (admission.Warnings, error){
				"create": func() (admission.Warnings, error) { return v.Create(ctx, tt.svc) },
				"update": func() (admission.Warnings, error) { return v.Update(ctx, otherClass, tt.svc) },
			} {
				if got := answer(t)(validate()); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: got %+v, want %+v", op, got, tt.want)
				}
			}
			if w, err := v.Delete(ctx, tt.svc); w != nil || err != nil {
				t.Errorf("delete: got %v, %v", w, err)
			}
		})
	}
}

// TestServiceHandlerLBCServiceMutator follows MutateCreate and
// MutateUpdate of the LBC's webhooks/core/service_mutator.go: with
// lbcServiceMutator, a new type LoadBalancer Service without a class is
// judged as the LBC's NLB (its ssl-ports "*" names no port); an UPDATE is
// judged as sent (the mutator only keeps a class the stored object has).
func TestServiceHandlerLBCServiceMutator(t *testing.T) {
	svc := service(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: "*",
		AnnotationSSLNegotiation: classicPolicy}, port("https", 443, corev1.ProtocolTCP))
	decider := func(mutator bool) decision.Decider {
		return ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.LoadBalancerTLS.LBCServiceMutator = mutator }))
	}
	ctx := context.Background()
	// In-tree CLB: "*" means every port, and the Classic policy is allowed.
	if got := answer(t)(apiServer{NewServiceHandler(decider(false))}.Create(ctx, svc)); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("without the mutator: %+v, want admitted", got)
	}
	want := verdict{denial: "eksguard denied this Service: [loadBalancerTLS] " + sslPortsField +
		`: "*" names no port of the Service: the LBC refuses to build or update the load balancer ("Unused port in ssl-ports annotation"); ` +
		`"*" is no wildcard for the LBC: leave ssl-ports out for TLS on every TCP port, or list Service port names or numbers`}
	v := apiServer{NewServiceHandler(decider(true))}
	if got := answer(t)(v.Create(ctx, svc)); !reflect.DeepEqual(got, want) {
		t.Errorf("create with the mutator:\n got %+v\nwant %+v", got, want)
	}
	old := svc.DeepCopy()
	old.Annotations[AnnotationSSLNegotiation] = strongPolicy
	if got := answer(t)(v.Update(ctx, old, svc)); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("update with the mutator: %+v, want admitted as the in-tree CLB it stays", got)
	}
	if svc.Spec.LoadBalancerClass != nil {
		t.Error("the handler changed the request's object")
	}
}

func TestIngressHandler(t *testing.T) {
	group := map[string]string{AnnotationGroupName: "shared"}
	with := func(extra map[string]string) map[string]string {
		ann := map[string]string{}
		for k, v := range group {
			ann[k] = v
		}
		for k, v := range extra {
			ann[k] = v
		}
		return ann
	}
	storedFront := albIngress("web", "front", with(map[string]string{AnnotationListenPorts: `[{"HTTP":80}]`, AnnotationSSLRedirect: "443"}))
	back := albIngress("api", "back", referenceALBAnnotations(with(map[string]string{AnnotationListenPorts: `[{"HTTPS":443}]`})))
	// Members that have left the group: one being deleted, one of another class.
	leaving := albIngress("api", "leaving", with(map[string]string{AnnotationSSLRedirect: "8443"}))
	leaving.DeletionTimestamp = ptr.To(metav1.Now())
	leaving.Finalizers = []string{"ingress.k8s.aws/resources"}
	nginx := albIngress("api", "nginx", with(map[string]string{AnnotationSSLRedirect: "8443"}))
	nginx.Spec.IngressClassName = ptr.To("nginx")

	reader := fake.NewClientBuilder().
		WithObjects(storedFront, back, leaving, nginx).
		WithIndex(&networkingv1.Ingress{}, IngressGroupNameField, IndexIngressGroupName).
		Build()
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, ingressIndexers)
	for _, ing := range []*networkingv1.Ingress{storedFront, back, leaving, nginx} {
		if err := store.Add(ing.DeepCopy()); err != nil {
			t.Fatal(err)
		}
	}
	indexed := &IndexedIngresses{Reader: failingReader{}, indexer: store}

	frontWithoutRedirect := albIngress("web", "front", with(map[string]string{AnnotationListenPorts: `[{"HTTP":80}]`}))
	plainNginx := albIngress("web", "site", nil, "shop.example.com")
	plainNginx.Spec.IngressClassName = ptr.To("nginx")

	tests := []struct {
		name  string
		mode  config.Mode
		other config.OtherIngressClasses
		ing   *networkingv1.Ingress
		want  verdict
	}{
		{"stored version still has ssl-redirect: admitted", config.ModeEnforce, config.OtherIngressIgnore, storedFront, verdict{}},
		{"the request replaces the stored version: denied", config.ModeEnforce, config.OtherIngressIgnore, frontWithoutRedirect,
			verdict{denial: "eksguard denied this Ingress: [loadBalancerTLS] " + listenPortsField +
				`: HTTP:80 is plaintext: set ssl-redirect: "443"`}},
		{"warn mode warns", config.ModeWarn, config.OtherIngressIgnore, frontWithoutRedirect,
			verdict{warnings: admission.Warnings{`eksguard [loadBalancerTLS] HTTP:80 is plaintext: set ssl-redirect: "443"`}}},
		{"other class ignored", config.ModeEnforce, config.OtherIngressIgnore, plainNginx, verdict{}},
		{"other class requireTLS", config.ModeEnforce, config.OtherIngressRequireTLS, plainNginx,
			verdict{denial: `eksguard denied this Ingress: [loadBalancerTLS] spec.tls: Ingresses of class "nginx" must terminate TLS: add spec.tls`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policies(t, tt.mode)
			cfg := p.Policy.Current().Config
			cfg.Rules.LoadBalancerTLS.OtherIngressClasses = tt.other
			pol, err := config.Compile(cfg, "eksguard-system")
			if err != nil {
				t.Fatal(err)
			}
			p.Policy = config.NewStore(pol)
			// Listed through the cache, and taken from the informer's indexes.
			for readerName, reader := range map[string]client.Reader{"listed": reader, "indexed": indexed} {
				v := apiServer{NewIngressHandler(p, reader, nil, albClasses())}
				ctx := context.Background()
				if got := answer(t)(v.Create(ctx, tt.ing)); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: create: got %+v, want %+v", readerName, got, tt.want)
				}
				if got := answer(t)(v.Update(ctx, storedFront, tt.ing)); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: update: got %+v, want %+v", readerName, got, tt.want)
				}
			}
		})
	}
}

// failingReader fails every read, as a cache that cannot be read.
type failingReader struct{ client.Reader }

func (failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("unexpected Get")
}

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("cache unavailable")
}

func TestIngressHandlerGroupLookupFailure(t *testing.T) {
	v := apiServer{NewIngressHandler(policies(t, config.ModeEnforce), failingReader{}, nil, albClasses())}
	ing := albIngress("web", "front", map[string]string{AnnotationGroupName: "shared"})
	_, err := v.Create(context.Background(), ing)
	var status *apierrors.StatusError
	if !errors.As(err, &status) || status.ErrStatus.Code != http.StatusInternalServerError {
		t.Fatalf("want a 500 StatusError, got %v", err)
	}
	if want := `eksguard could not decide on load-balancer TLS: listing the Ingresses of ALB group "shared": cache unavailable`; status.ErrStatus.Message != want {
		t.Errorf("message = %q, want %q", status.ErrStatus.Message, want)
	}
}

// TestUndecidedLoadBalancerTLS: when the rule cannot decide (the group's
// Ingresses or a namespace's labels unreadable), enforce fails closed and
// warn admits with a warning (decision.Undecided), for both validators.
func TestUndecidedLoadBalancerTLS(t *testing.T) {
	ctx := context.Background()
	ing := albIngress("web", "front", map[string]string{AnnotationGroupName: "shared"})
	svc := service(corev1.ServiceTypeLoadBalancer, lbcAnnotations(nil), port("http", 80, corev1.ProtocolTCP))
	svc.Namespace = "web"
	// Namespace selectors make the decision read namespace labels.
	withSelector := func(t *testing.T, mode config.Mode) decision.Decider {
		p := ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) {
			c.Rules.LoadBalancerTLS.Mode = mode
			c.Scope.ExcludedNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"skip": "yes"}}
		}))
		p.Namespaces = failingReader{}
		return p
	}
	for _, tt := range []struct {
		name        string
		validate    func(mode config.Mode) (admission.Warnings, error)
		wantWarning string
		wantError   string
	}{
		{
			name: "Ingress group unreadable",
			validate: func(mode config.Mode) (admission.Warnings, error) {
				return (apiServer{NewIngressHandler(policies(t, mode), failingReader{}, nil, albClasses())}).Create(ctx, ing)
			},
			wantWarning: `eksguard [loadBalancerTLS] could not decide on load-balancer TLS: listing the Ingresses of ALB group "shared": cache ...`,
			wantError:   `eksguard could not decide on load-balancer TLS: listing the Ingresses of ALB group "shared": cache unavailable`,
		},
		{
			name: "Service namespace labels unreadable",
			validate: func(mode config.Mode) (admission.Warnings, error) {
				return (apiServer{NewServiceHandler(withSelector(t, mode))}).Create(ctx, svc)
			},
			wantWarning: `eksguard [loadBalancerTLS] could not decide on load-balancer TLS: reading labels of namespace "web": unexpected Get`,
			wantError:   `eksguard could not decide on load-balancer TLS: reading labels of namespace "web": unexpected Get`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := tt.validate(config.ModeWarn)
			if err != nil || len(warnings) != 1 || warnings[0] != tt.wantWarning {
				t.Errorf("warn: got %q, %v; want the warning %q", warnings, err, tt.wantWarning)
			}
			_, err = tt.validate(config.ModeEnforce)
			var status *apierrors.StatusError
			if !errors.As(err, &status) || status.ErrStatus.Code != http.StatusInternalServerError || status.ErrStatus.Message != tt.wantError {
				t.Errorf("enforce: got %v, want the 500 %q", err, tt.wantError)
			}
		})
	}
}

// TestUpdateUnchanged: updates that change nothing the rule reads
// (a controller's finalizer) and updates of objects being deleted are
// admitted even when the object is plaintext; any other update is judged.
func TestUpdateUnchanged(t *testing.T) {
	ctx := context.Background()
	svcs := apiServer{NewServiceHandler(policies(t, config.ModeEnforce))}
	ings := apiServer{NewIngressHandler(policies(t, config.ModeEnforce), fake.NewClientBuilder().Build(), nil, albClasses())}

	oldSvc := service(corev1.ServiceTypeLoadBalancer, lbcAnnotations(nil), port("http", 80, corev1.ProtocolTCP))
	finalized := oldSvc.DeepCopy()
	finalized.Finalizers = []string{"service.k8s.aws/resources"}
	deleting := finalized.DeepCopy()
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	deleting.Annotations = nil
	relabelled := oldSvc.DeepCopy()
	relabelled.Annotations[AnnotationSSLPorts] = "443"

	oldIng := albIngress("shop", "web", nil)
	finalizedIng := oldIng.DeepCopy()
	finalizedIng.Finalizers = []string{"ingress.k8s.aws/resources"}
	respecced := oldIng.DeepCopy()
	respecced.Spec.Rules = []networkingv1.IngressRule{{Host: "shop.example.com"}}

	for _, tt := range []struct {
		name       string
		validate   func() (admission.Warnings, error)
		wantDenied bool
	}{
		{"Service finalizer added", func() (admission.Warnings, error) { return svcs.Update(ctx, oldSvc, finalized) }, false},
		{"Service being deleted", func() (admission.Warnings, error) { return svcs.Update(ctx, finalized, deleting) }, false},
		{"Service annotations changed", func() (admission.Warnings, error) { return svcs.Update(ctx, oldSvc, relabelled) }, true},
		{"Ingress finalizer added", func() (admission.Warnings, error) { return ings.Update(ctx, oldIng, finalizedIng) }, false},
		{"Ingress spec changed", func() (admission.Warnings, error) { return ings.Update(ctx, oldIng, respecced) }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := answer(t)(tt.validate()); (got.denial != "") != tt.wantDenied {
				t.Errorf("got %+v, want denied=%v", got, tt.wantDenied)
			}
		})
	}
}

// TestIngressGroupDenialConfirmedLive: a member that gets its TLS policy
// from another member the cache does not hold yet (the group applied in one
// kubectl apply) is admitted once the API server, read live, shows that
// member; a denial the live read confirms stands, a failed live read
// leaves the cache's answer, and warn mode never reads live.
func TestIngressGroupDenialConfirmedLive(t *testing.T) {
	group := map[string]string{AnnotationGroupName: "storefront", AnnotationListenPorts: `[{"HTTPS":443}]`, AnnotationCertificateARN: certARN}
	web := albIngress("shop", "web", referenceALBAnnotations(group)) // carries the group's TLS policy
	api := albIngress("shop", "api", maps.Clone(group))              // relies on it
	stale := fake.NewClientBuilder().WithIndex(&networkingv1.Ingress{}, IngressGroupNameField, IndexIngressGroupName).
		WithIndex(&networkingv1.Ingress{}, IngressClassNameField, IndexIngressClassName).Build()
	const denial = "eksguard denied this Ingress: [loadBalancerTLS] metadata.annotations[alb.ingress.kubernetes.io/ssl-policy]: " +
		"HTTPS:443: default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06"
	for _, tt := range []struct {
		name string
		mode config.Mode
		live *countingLister
		want verdict
	}{
		{name: "the live read finds the member", mode: config.ModeEnforce, live: &countingLister{Reader: fake.NewClientBuilder().WithObjects(web).Build()}},
		{name: "the live read confirms the denial", mode: config.ModeEnforce, live: &countingLister{Reader: fake.NewClientBuilder().Build()},
			want: verdict{denial: denial}},
		{name: "a failed live read leaves the cache's answer", mode: config.ModeEnforce, live: &countingLister{Reader: failingReader{}},
			want: verdict{denial: denial}},
		{name: "warn mode does not read live", mode: config.ModeWarn, live: &countingLister{Reader: failingReader{}},
			want: verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] HTTPS:443: default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. ELBSecur..."}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := apiServer{NewIngressHandler(policies(t, tt.mode), stale, tt.live, albClasses())}
			if got := answer(t)(v.Create(context.Background(), api)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if wantLists := map[bool]int{true: 1, false: 0}[tt.mode == config.ModeEnforce]; tt.live.lists != wantLists {
				t.Errorf("%d live lists, want %d (one for the whole admission)", tt.live.lists, wantLists)
			}
		})
	}
}

// countingLister counts the lists it serves.
type countingLister struct {
	client.Reader
	lists int
}

func (c *countingLister) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists++
	return c.Reader.List(ctx, list, opts...)
}
