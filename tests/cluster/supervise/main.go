// Command supervise runs one program and ends it when its own standard input closes, so a
// control plane started by a test process never outlives that process, however it ends
// (a panic, a failed assertion, SIGKILL): the pipe closes with the process.
//
// Usage: supervise PROGRAM [ARG...]
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// grace is how long the program may take to stop after SIGTERM before it is killed.
const grace = 5 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: supervise PROGRAM [ARG...]")
		os.Exit(2)
	}
	// Pdeathsig follows the thread that started the child, not the process: keep the
	// starting goroutine on one thread so the child is not killed when Go retires it.
	runtime.LockOSThread()
	child := exec.Command(os.Args[1], os.Args[2:]...)
	child.Stdout = os.Stdout
	child.Stderr = os.Stderr
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := child.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "supervise: cannot start %s: %v\n", os.Args[1], err)
		os.Exit(127)
	}

	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()

	select {
	case err := <-done:
		os.Exit(exitCode(err))
	case <-stop:
	case <-signals:
	}
	_ = syscall.Kill(-child.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-done:
		os.Exit(exitCode(err))
	case <-time.After(grace):
		_ = syscall.Kill(-child.Process.Pid, syscall.SIGKILL)
		os.Exit(exitCode(<-done))
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code >= 0 {
			return code
		}
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}
