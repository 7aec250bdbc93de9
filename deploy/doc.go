// Package deploy holds the deployment files' checks: docker-compose.yml and
// the Dockerfile at the repository root are tested against the sources
// (services, ports, the environment variables the worker reads, the build
// command of the README), since no Docker engine runs where the tests run.
// deploy/dynamicconfig is the compose stack's Temporal dynamic config.
package deploy
