// Package manifest reads Kubernetes manifests for the offline commands:
// files, directories or standard input, multi-document YAML or JSON, List
// kinds; it decodes each object as the API server would (strictly, with the
// defaults the rules depend on) and says where each came from (Source).
package manifest
