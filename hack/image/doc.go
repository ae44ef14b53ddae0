// Command image builds eksguard's container image without a Docker daemon
// and without pulling a base image: for each platform, a static binary
// (CGO off) and the files of rootfs/ (a passwd and group with the nonroot
// user 65532) on an empty base, as an OCI image index in an OCI layout
// directory. The image runs as 65532:65532, has /eksguard as its entrypoint
// and serve as its command, OCI labels for source, version and revision,
// and an SPDX SBOM of the binary's modules at /usr/share/doc/eksguard/.
// It also writes each platform's binary and SBOM under OUT/linux-ARCH,
// which the Dockerfile copies onto scratch: Docker users build the same
// image after make image, and no build pulls an image from a registry.
//
//	go run ./hack/image -out bin/image -version v0.1.0
//	skopeo copy --all oci:bin/image/oci:v0.1.0 docker://ACCOUNT.dkr.ecr.REGION.amazonaws.com/eksguard:v0.1.0
package main
