package engine

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts turns Ctrl-C and TERM into a cancelled command context, from the moment a command starts
// work that must not end half-way or that waits: it holds the lock (snapshot and writes follow), calls
// the API server, or runs the --wait gate. The command can then finish its writes, or say what state it
// leaves and how to undo it, instead of dying mid-sentence.
//
// Before that moment the default stays: the process ends at once. That is right for a run that has
// written nothing (a plan, status, lint, a wait for the lock), and it keeps start-up lean: catching
// signals costs the Go runtime two OS threads, about a tenth of a whole plan run.
type interrupts struct {
	once   sync.Once
	cancel context.CancelCauseFunc
	ch     chan os.Signal
	done   chan struct{}
}

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string {
	if e.sig == syscall.SIGTERM {
		return "terminated (SIGTERM)"
	}
	return "interrupted (SIGINT)"
}

type interruptsKey struct{}

// WithInterrupts returns a context that CatchInterrupts can later arm, and the function that releases
// it (stops catching, if it started).
func WithInterrupts(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	in := &interrupts{cancel: cancel}
	ctx = context.WithValue(ctx, interruptsKey{}, in)
	return ctx, func() {
		in.once.Do(func() {}) // a later CatchInterrupts must not start catching
		if in.ch != nil {
			signal.Stop(in.ch)
			close(in.done)
		}
		cancel(nil)
	}
}

// CatchInterrupts starts turning Ctrl-C and TERM into cancelling ctx (see interrupts). Idempotent;
// a no-op for a context that WithInterrupts did not make.
func CatchInterrupts(ctx context.Context) {
	if ctx == nil {
		return
	}
	in, _ := ctx.Value(interruptsKey{}).(*interrupts)
	if in == nil {
		return
	}
	in.once.Do(func() {
		in.ch = make(chan os.Signal, 1)
		in.done = make(chan struct{})
		signal.Notify(in.ch, os.Interrupt, syscall.SIGTERM)
		go func() {
			select {
			case sig := <-in.ch:
				in.cancel(interrupted{sig})
			case <-in.done:
			}
		}()
	})
}

// InterruptCause returns the signal that cancelled ctx, in place of err's "context canceled", or err.
func InterruptCause(ctx context.Context, err error) error {
	var in interrupted
	if errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &in) {
		return in
	}
	return err
}
