// Package sandbox declares the contract between the runner and the places an agent runs in (the
// local machine with OS-level restrictions, a container): the Provider and Sandbox interfaces and the
// security policy types. The providers themselves live in sub-packages. Empty until the runner's
// sandbox stage lands.
package sandbox
