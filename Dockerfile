# syntax=docker/dockerfile:1
# batchinfer's worker and starter. The build stage runs the README's build
# command (`go build ... ./worker ./starter`); deploy/compose_test.go checks
# that the two stay the same.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/ ./worker ./starter
# The artifact folder of the image, owned by the runtime user, so that a
# named volume mounted there starts writable.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
WORKDIR /data
# Metrics on every interface inside the container (the worker's default is
# loopback only).
ENV BATCHINFER_METRICS_ADDR=0.0.0.0:9090
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/worker"]
