// Command etcd is etcd's own server entry point, built at the version the Kubernetes
// release in go.mod pins, so the e2e suite's API server stores into the etcd it was
// tested with.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
