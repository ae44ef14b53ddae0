# syntax=docker/dockerfile:1
# Static eksguard binary on a distroless, non-root base image.
#   docker build --build-arg VERSION=v0.1.0 -t eksguard:v0.1.0 .

FROM golang:1.26 AS build
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
      -ldflags "-s -w -X github.com/eksguard/eksguard/internal/cli.Version=${VERSION}" \
      -o /out/eksguard .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/eksguard /eksguard
# 65532 is distroless's nonroot user; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/eksguard"]
CMD ["serve"]
