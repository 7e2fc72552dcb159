package pwcheck

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/auth"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HashSlots bounds the password hashes that run at once, so that memory is
// bounded by slots × the hash's memory (argon2id's OWASP cost is 19 MiB)
// however many requests arrive, and so that cached credentials, tokens,
// sessions and certificates, which never take a slot, never wait behind
// hashing.
//
// Hashing also has a CPU budget (SetCPUShare; defaultHashCPUShare of the
// machine by default): after a burst of up to a second of hashing, hashes
// start no faster than the budget allows, so an attacker who makes the
// server hash all day leaves most of the CPU to everyone else.
//
// A request that cannot get a slot (or its turn in the budget) within the
// wait is refused with 503 and Retry-After; a request whose client has left
// (its context ended) never starts a hash, and stops waiting at once.
type HashSlots struct {
	slots chan struct{}
	wait  time.Duration

	mu     sync.Mutex
	share  float64       // of all CPUs; 0 = no budget
	debt   time.Duration // hashing time not yet earned back; negative = credit
	paidAt time.Time

	started atomic.Int64
	refused atomic.Int64
}

// defaultHashCPUShare is the part of the machine's CPU that password
// hashing may use on average (a tenth).
const defaultHashCPUShare = 0.1

// hashBurst is the hashing time that may run at once after a quiet spell.
const hashBurst = time.Second

// defaultHashWait is how long a password check waits for a hash slot.
const defaultHashWait = 500 * time.Millisecond

// NewHashSlots allows n hashes at once (n <= 0: runtime.NumCPU()), each
// request waiting at most wait for a slot (wait <= 0: defaultHashWait).
func NewHashSlots(n int, wait time.Duration) *HashSlots {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if wait <= 0 {
		wait = defaultHashWait
	}
	return &HashSlots{slots: make(chan struct{}, n), wait: wait, share: defaultHashCPUShare, debt: -hashBurst, paidAt: time.Now()}
}

// SetCPUShare sets the CPU budget: the fraction of all CPUs that hashing
// may use on average, after a burst (0 < share <= 1; anything else turns
// the budget off, leaving only the slots).
func (h *HashSlots) SetCPUShare(share float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if share <= 0 || share > 1 {
		share = 0
	}
	h.share = share
}

// turn is how long a hash must wait for the budget now (zero when there is
// credit).
func (h *HashSlots) turn() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.share == 0 {
		return 0
	}
	now := time.Now()
	rate := h.share * float64(runtime.NumCPU()) // hashing seconds earned per second
	h.debt -= time.Duration(float64(now.Sub(h.paidAt)) * rate)
	h.debt = max(h.debt, -hashBurst)
	h.paidAt = now
	if h.debt <= 0 {
		return 0
	}
	return time.Duration(float64(h.debt) / rate)
}

func (h *HashSlots) spent(d time.Duration) {
	h.mu.Lock()
	h.debt += d
	h.mu.Unlock()
}

// DefaultHashSlots is shared by every StoreVerifier without Slots of its
// own, so that the bound holds for the whole process: NumCPU hashes at once.
var DefaultHashSlots = NewHashSlots(0, 0)

// errBusy says every hash slot stayed taken for the whole wait.
var errBusy = errors.New("auth: every password-hash slot is busy")

// Do runs hash in a slot. It returns ReasonUnavailable (with Retry-After)
// when no slot frees up within the wait, and the context's error when ctx
// ends first; hash is not run in either case. When ctx is an attempt under
// a Throttle (Throttle.VerifyPassword), Do counts the attempt first and
// returns ReasonThrottled, without hashing, while a counter is over its
// limit: so whatever verifier hashes through Do is throttled at its hash.
func (h *HashSlots) Do(ctx context.Context, hash func()) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auth: the client left before its password was checked: %w", err)
	}
	if err := admitHash(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(h.wait)
	left := func(err error) error { return fmt.Errorf("auth: the client left while its password waited: %w", err) }
	// busy answers only when the wait is over, even when it is clear sooner
	// that no turn will come: an instant refusal would invite an attacker
	// to spend the CPU the bound saved on asking again at once.
	busy := func() error {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return left(ctx.Err())
		}
		h.refused.Add(1)
		return &auth.Error{Reason: auth.ReasonUnavailable, Message: "too many password checks at once, try again shortly",
			RetryAfter: time.Second, Cause: errBusy}
	}
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return left(ctx.Err())
		case <-t.C:
			return busy()
		}
	}
	if d := h.turn(); d > 0 {
		if time.Now().Add(d).After(deadline) {
			<-h.slots // no turn within the wait: free the slot for others
			return busy()
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	defer func() { <-h.slots }()
	if err := ctx.Err(); err != nil { // the client may have left while waiting
		return fmt.Errorf("auth: the client left before its password was checked: %w", err)
	}
	h.started.Add(1)
	start := time.Now()
	hash()
	h.spent(time.Since(start))
	return nil
}

// HashStats are counters of a HashSlots since it was made.
type HashStats struct {
	Started int64 // hashes run
	Refused int64 // requests that found no slot within the wait
	Running int   // hashes running now
}

// Stats reports the counters.
func (h *HashSlots) Stats() HashStats {
	return HashStats{Started: h.started.Load(), Refused: h.refused.Load(), Running: len(h.slots)}
}
