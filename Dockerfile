# syntax=docker/dockerfile:1
# aims-operator image: a static-enough build (profile `dist`: release with fat LTO, optimised for size) on Debian, run on distroless as a
# non-root user (UID 65532) with nothing else in the image: no shell, no package manager.
#
#   docker build -t aims-operator:dev .
#
# The chart runs it with a read-only root filesystem; the only writable path it needs is
# /tls (an in-memory emptyDir when certificates are self-managed).

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY operator ./operator
COPY crds ./crds
COPY examples ./examples
COPY tests ./tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile dist --locked -p aims-operator --bin aims-operator --bin kubectl-aims \
    && install -D -m 0755 target/dist/aims-operator /out/aims-operator \
    && install -D -m 0755 target/dist/kubectl-aims /out/kubectl-aims

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="aims-operator" \
      org.opencontainers.image.description="ISO/IEC 42001 AI management system enforcement for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/aims-operator /out/kubectl-aims /usr/local/bin/
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/aims-operator"]
CMD ["run"]
