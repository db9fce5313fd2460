// Command etcdcompact compacts the e2e suite's etcd at its current revision, as the API
// server's periodic compaction does, so that anything still asking for an older revision is
// answered that it is gone. It prints the revision compacted at.
//
// Usage: etcdcompact http://127.0.0.1:2379
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: etcdcompact <etcd client URL>")
		os.Exit(2)
	}
	if err := compact(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "etcdcompact: %v\n", err)
		os.Exit(1)
	}
}

func compact(endpoint string) error {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Any read answers with the store's current revision in its header.
	status, err := client.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("reading the current revision: %w", err)
	}
	revision := status.Header.Revision
	if _, err := client.Compact(ctx, revision, clientv3.WithCompactPhysical()); err != nil {
		return fmt.Errorf("compacting at revision %d: %w", revision, err)
	}
	fmt.Println(revision)
	return nil
}
