# syntax=docker/dockerfile:1
# The image hack/image builds without Docker (make image), for users with
# Docker: a static eksguard binary and the nonroot user 65532 on an empty
# base, no base image pulled at run time.
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v0.1.0 \
#     --build-arg REVISION=$(git rev-parse HEAD) -t eksguard:v0.1.0 .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module cache layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w -X github.com/eksguard/eksguard/internal/app/cli.Version=${VERSION}" \
      -o /out/eksguard .

FROM scratch
ARG VERSION=dev
ARG REVISION=""
COPY hack/image/rootfs/ /
COPY --from=build /out/eksguard /eksguard
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
