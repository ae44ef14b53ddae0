{{- define "eksguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects; the webhook Service, the webhook
configurations and the ClusterRole carry it.
*/}}
{{- define "eksguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Namespace of eksguard's objects: namespace.name, or the release's. Helm
stores its release record in the release namespace before it creates
anything, so a namespace the chart creates must be another one.
*/}}
{{- define "eksguard.namespace" -}}
{{- if and .Values.namespace.create (or (not .Values.namespace.name) (eq .Values.namespace.name .Release.Namespace)) }}
{{- fail "namespace.create needs namespace.name set to a namespace other than the release's: Helm stores the release in the release namespace before the chart's objects are created" }}
{{- end }}
{{- default .Release.Namespace .Values.namespace.name }}
{{- end }}

{{- define "eksguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eksguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "eksguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "eksguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eksguard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eksguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eksguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "eksguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret holding ca.crt, tls.crt and tls.key of the webhook server. */}}
{{- define "eksguard.certSecretName" -}}
{{- printf "%s-webhook-tls" (include "eksguard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "eksguard.servingCertificateName" -}}
{{- printf "%s-serving-cert" (include "eksguard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "eksguard.policyConfigMapName" -}}
{{- printf "%s-policy" (include "eksguard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Where the serving certificate Secret is mounted. */}}
{{- define "eksguard.certDir" -}}
/etc/eksguard/tls
{{- end }}

{{/*
Namespaces no webhook is ever called for: the release namespace (eksguard
must never need itself to start), kube-system, the configured extra list and
the policy's own exclusions, which would be answered "allowed" anyway.
*/}}
{{- define "eksguard.excludedNamespaces" -}}
{{- $names := concat (list (include "eksguard.namespace" .) "kube-system") .Values.webhook.excludedNamespaces (.Values.policy.scope.excludedNamespaces | default list) }}
{{- toJson (uniq $names) }}
{{- end }}

{{/*
failurePolicy of a validating webhook entry, given (list mode root): a rule
that only warns must never block the cluster when eksguard is down.
*/}}
{{- define "eksguard.failurePolicy" -}}
{{- $mode := index . 0 }}
{{- $root := index . 1 }}
{{- if or $root.Values.policy.dryRun (ne $mode "enforce") }}Ignore{{ else }}{{ $root.Values.webhook.failurePolicy }}{{ end }}
{{- end }}

{{/*
Fields every webhook entry shares, given (dict "root" $ "path" "/..."
"conditions" <matchConditions of this entry, optional>).
*/}}
{{- define "eksguard.webhookCommon" -}}
{{- $root := .root -}}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
clientConfig:
  service:
    name: {{ include "eksguard.fullname" $root }}
    namespace: {{ include "eksguard.namespace" $root }}
    path: {{ .path }}
    port: {{ $root.Values.service.port }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ include "eksguard.excludedNamespaces" $root }}
{{- with concat (.conditions | default list) $root.Values.webhook.matchConditions }}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The egress of eksguard's pods: DNS on UDP and TCP 53 to any destination
(EKS Auto Mode serves DNS on the node, not from kube-dns pods, and TCP 53
carries large answers), and the API server's ports.
*/}}
{{- define "eksguard.egressRules" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- ports:
    {{- range .Values.networkPolicy.apiServerPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.apiServerTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
The one mutation eksguard's seccomp admission policy may make: the Go
constant seccomp.AdmissionPolicyMutation, which a chart test holds this to.
*/}}
{{- define "eksguard.seccompMutation" -}}
[JSONPatch{op: "add", path: "/spec/securityContext/seccompProfile", value: Object.spec.securityContext.seccompProfile{type: "RuntimeDefault"}}]
{{- end }}
