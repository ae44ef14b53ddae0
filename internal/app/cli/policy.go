package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
)

// loadPolicyFile reads a policy from a file holding either the bare
// PolicyConfig document or a ConfigMap manifest with it under config.yaml
// (such as examples/policy-configmap.yaml); in a multi-document file the
// first such document counts.
func loadPolicyFile(path, ownNamespace string) (*config.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, doc := range manifest.SplitDocuments(path, data) {
		u, err := manifest.DecodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", doc.Source.Where(), err)
		}
		if u == nil {
			continue
		}
		switch {
		case u.GetAPIVersion() == config.APIVersion && u.GetKind() == config.Kind:
			p, err := config.Load(doc.Data, ownNamespace)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", doc.Source.Where(), err)
			}
			return p, nil
		case u.GetAPIVersion() == "v1" && u.GetKind() == "ConfigMap":
			policyDoc, found, _ := unstructuredString(u.Object, "data", config.ConfigMapKey)
			if !found {
				continue
			}
			p, err := config.Load([]byte(policyDoc), ownNamespace)
			if err != nil {
				return nil, fmt.Errorf("%s: ConfigMap %s, data.%s: %w", doc.Source.Where(), u.GetName(), config.ConfigMapKey, err)
			}
			return p, nil
		}
	}
	return nil, fmt.Errorf("%s: no PolicyConfig document (apiVersion %s, kind %s) and no ConfigMap with data.%s",
		path, config.APIVersion, config.Kind, config.ConfigMapKey)
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		if cur, ok = m[f]; !ok {
			return "", false, nil
		}
	}
	s, ok := cur.(string)
	if !ok {
		return "", false, errors.New("not a string")
	}
	return s, true, nil
}

// loadClusterPolicy reads the policy ConfigMap as the server does; without
// one, the built-in defaults are in force.
func loadClusterPolicy(ctx context.Context, c client.Reader, key client.ObjectKey, ownNamespace string) (*config.Policy, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			p := config.DefaultPolicy(ownNamespace)
			p.Source = fmt.Sprintf("built-in defaults (no ConfigMap %s)", key)
			return p, nil
		}
		return nil, fmt.Errorf("reading policy ConfigMap %s: %w", key, err)
	}
	doc, ok := cm.Data[config.ConfigMapKey]
	if !ok {
		return nil, fmt.Errorf("policy ConfigMap %s has no data.%s; eksguard rejects it and keeps its last good policy", key, config.ConfigMapKey)
	}
	p, err := config.Load([]byte(doc), ownNamespace)
	if err != nil {
		return nil, fmt.Errorf("policy ConfigMap %s is invalid, so eksguard keeps its last good policy (audit against a file with --policy): %w", key, err)
	}
	p.Source = fmt.Sprintf("ConfigMap %s/%s@%s", cm.Namespace, cm.Name, cm.ResourceVersion)
	return p, nil
}
