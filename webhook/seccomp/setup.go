package seccomp

import (
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/webhook/decision"
)

// SetupWithManager registers the seccomp webhook on mgr's webhook server.
func SetupWithManager(mgr manager.Manager, policies decision.Policies) error {
	hook := (&webhook.Admission{Handler: &Handler{Policies: policies}}).WithRecoverPanic(true)
	mgr.GetWebhookServer().Register(Path, hook)
	return nil
}
