{{/* Names are fixed, not release-prefixed: the webhook configurations and ClusterRoles are
cluster-wide singletons, and the operator's defaults (Service, Secret, configuration names)
match them. */}}
{{- define "aims.name" -}}aims-operator{{- end -}}

{{- define "aims.labels" -}}
app.kubernetes.io/name: aims-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "aims.selectorLabels" -}}
app.kubernetes.io/name: aims-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aims.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* cert-manager when asked, or when auto and its API is served. */}}
{{- define "aims.certManager" -}}
{{- if eq .Values.certificates.provider "cert-manager" -}}true
{{- else if and (eq .Values.certificates.provider "auto") (.Capabilities.APIVersions.Has "cert-manager.io/v1") -}}true
{{- end -}}
{{- end -}}

{{/* Namespaces no webhook ever sees: the Kubernetes system ones and our own. */}}
{{- define "aims.excludedNamespaces" -}}
- key: kubernetes.io/metadata.name
  operator: NotIn
  values: [kube-system, kube-public, kube-node-lease, {{ .Release.Namespace | quote }}]
{{- end -}}

{{- define "aims.clientConfig" -}}
clientConfig:
  service:
    name: aims-operator-webhook
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
{{- end -}}
