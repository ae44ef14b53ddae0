package netpol

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/eksguard/eksguard/internal/lib/served"
)

// watchCustomKinds registers every custom kind of Kinds with w: while the
// API server serves one, its informer feeds index with its objects, trimmed
// by trimPolicyObject; when it goes, index forgets them. index is not ready
// before w's first discovery.
func watchCustomKinds(w *served.Watcher, index *Index) error {
	index.setDiscovering(true)
	w.OnDiscovered(func() { index.setDiscovering(false) })
	for _, k := range Kinds {
		if k.BuiltIn() {
			continue
		}
		setKindWatched(k, false)
		// The watcher calls OnStart and OnStop one at a time.
		var f *feed
		err := w.Watch(served.Target{
			GVR:       k.GVR(),
			Kind:      k.GVK.Kind,
			Transform: trimPolicyObject,
			OnStart: func(informer toolscache.SharedIndexInformer) error {
				var err error
				if f, err = index.watch(k, informer); err != nil {
					return fmt.Errorf("feeding the policy index from %s: %w", k.Name, err)
				}
				setKindWatched(k, true)
				return nil
			},
			OnStop: func() {
				index.forget(k, f)
				f = nil
				setKindWatched(k, false)
			},
		})
		if err != nil {
			return err
		}
	}
	return watchCalicoTiers(w, index)
}

// watchCalicoTiers keeps index's Calico tiers current while the API
// server serves projectcalico.org/v3 Tiers: every Tier event reads the
// informer's store again (tiers are few and change rarely).
func watchCalicoTiers(w *served.Watcher, index *Index) error {
	return w.Watch(served.Target{
		GVR:       CalicoTierGVK.GroupVersion().WithResource("tiers"),
		Kind:      CalicoTierGVK.Kind,
		Transform: trimTier,
		OnStart: func(informer toolscache.SharedIndexInformer) error {
			reread := func() {
				var tiers []*unstructured.Unstructured
				for _, obj := range informer.GetStore().List() {
					if u, ok := obj.(*unstructured.Unstructured); ok {
						tiers = append(tiers, u)
					}
				}
				index.SetTiers(TiersFrom(tiers))
			}
			_, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
				AddFunc:    func(any) { reread() },
				UpdateFunc: func(any, any) { reread() },
				DeleteFunc: func(any) { reread() },
			})
			return err
		},
		OnStop: func() { index.SetTiers(nil) },
	})
}

// trimTier keeps a Tier's name and default action.
var trimTier = served.KeepSpec("defaultAction")

// trimPolicyObject is the cache transform of the custom kinds: it keeps
// only what compiling and indexing read (identity and spec), dropping
// annotations (the last-applied configuration above all), managedFields
// and status before the object reaches the informer's store.
func trimPolicyObject(obj interface{}) (interface{}, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	trimmed := &unstructured.Unstructured{Object: map[string]interface{}{}}
	trimmed.SetAPIVersion(u.GetAPIVersion())
	trimmed.SetKind(u.GetKind())
	trimmed.SetNamespace(u.GetNamespace())
	trimmed.SetName(u.GetName())
	trimmed.SetUID(u.GetUID())
	trimmed.SetResourceVersion(u.GetResourceVersion())
	if spec, ok := u.Object["spec"]; ok {
		trimmed.Object["spec"] = spec
	}
	if specs, ok := u.Object["specs"]; ok {
		trimmed.Object["specs"] = specs
	}
	return trimmed, nil
}
