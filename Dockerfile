# The image make image builds (hack/image), for users with Docker. It pulls
# no image: the binaries and SBOMs are the ones make image builds with the
# project's own Go toolchain (modules checked against go.sum), copied onto
# scratch, so there is no base or build image to pin by digest.
#   make image VERSION=v0.1.0
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v0.1.0 \
#     --build-arg REVISION=$(git rev-parse HEAD) -t eksguard:v0.1.0 .

FROM scratch
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=""
COPY hack/image/rootfs/ /
# /eksguard and /usr/share/doc/eksguard/sbom.spdx.json.
COPY bin/image/linux-${TARGETARCH}/ /
LABEL org.opencontainers.image.source="https://github.com/eksguard/eksguard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.title="eksguard" \
      org.opencontainers.image.licenses="Apache-2.0"
# Numeric, so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/eksguard"]
CMD ["serve"]
