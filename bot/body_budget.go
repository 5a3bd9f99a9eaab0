package bot

import (
	"errors"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Webhook bodies and the memory they may hold.
const (
	// MaxWebhookBody is the largest webhook body accepted; GitHub caps its payloads at 25 MB.
	MaxWebhookBody = 25 << 20
	// SmallWebhookBody is the size under which a body draws first on the small allowance. GitHub's
	// issue_comment deliveries are a few KB to a few hundred KB.
	SmallWebhookBody = 1 << 20
	// DefaultLargeBodyBudget is the memory shared by the bodies being read, when BodyBudget.Large is 0:
	// room for a body of the largest size GitHub sends, even one of unknown length, which holds its
	// last two buffers (16 MB and 25 MB) while it grows.
	DefaultLargeBodyBudget = 48 << 20
	// DefaultSmallBodyBudget is the allowance kept for bodies under SmallWebhookBody when
	// BodyBudget.Small is 0: hundreds of real deliveries at once, whatever large bodies hold.
	DefaultSmallBodyBudget = 8 << 20
)

// Why a body was not read.
var (
	errBodyTooLarge = errors.New("webhook body larger than 25 MB")
	errBodyBudget   = errors.New("webhook body budget exhausted")
)

// BodyBudget bounds the memory that webhook bodies hold while they are read and checked, before
// anyone knows whether they are signed: whatever arrives, at most Large+Small bytes of bodies are
// in memory at once. A body's bytes are reserved before they are read: all of its Content-Length at
// once, or step by step as a body of unknown length (chunked) grows. A request the budget cannot
// take is refused (503 with Retry-After) without reading its body. Bodies under SmallWebhookBody
// draw on an allowance of their own before they draw on the shared part, so large junk cannot shut
// out GitHub's real deliveries. The zero value is a budget of the default sizes; a BodyBudget must
// not be copied once used.
//
// The buffers of bodies of a known size under SmallWebhookBody are kept for the next bodies: a
// delivery then costs the collector none of its 8–20 KB, which were half of what ingest allocated.
type BodyBudget struct {
	Large int64 // bytes shared by every body; 0 means DefaultLargeBodyBudget
	Small int64 // bytes only bodies under SmallWebhookBody may use; 0 means DefaultSmallBodyBudget

	large, small atomic.Int64             // bytes reserved
	buffers      [bufferClasses]sync.Pool // of *[]byte, by size class: 16 KB, 32 KB, ... 1 MB
}

// Kept buffers come in size classes: powers of two from 16 KB (1<<minBufferBits) to
// SmallWebhookBody.
const (
	minBufferBits = 14
	bufferClasses = 7
)

// reservation is what one body holds of a budget, and the kept buffer it reads into, if any.
type reservation struct {
	budget       *BodyBudget
	small, large int64
	buf          *[]byte
	class        int
}

// reserve takes n bytes for a body: from the small allowance when small says the body may use it
// and it has room, else from the shared part. It reports whether it could.
func (b *BodyBudget) reserve(n int64, small bool) (reservation, bool) {
	if small && take(&b.small, n, orDefault(b.Small, DefaultSmallBodyBudget)) {
		return reservation{budget: b, small: n}, true
	}
	if take(&b.large, n, orDefault(b.Large, DefaultLargeBodyBudget)) {
		return reservation{budget: b, large: n}, true
	}
	return reservation{}, false
}

// release gives the reservation's bytes back, and its buffer for the next body: the body read into
// it must no longer be used. Releasing the zero reservation does nothing.
func (r reservation) release() {
	if r.budget != nil {
		r.budget.small.Add(-r.small)
		r.budget.large.Add(-r.large)
	}
	if r.buf != nil {
		r.budget.buffers[r.class].Put(r.buf)
	}
}

// take adds n to used when the sum stays within limit.
func take(used *atomic.Int64, n, limit int64) bool {
	for {
		u := used.Load()
		if u+n > limit {
			return false
		}
		if used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// orDefault is v, or def when v is not set.
func orDefault(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

// readBody reads a body of declared length (-1: unknown) within the budget. It returns the body and
// the reservation that holds it, to release once the body is no longer used; errBodyTooLarge for a
// body over MaxWebhookBody, errBodyBudget when the budget is full, or the read error.
func (b *BodyBudget) readBody(r io.Reader, length int64) ([]byte, reservation, error) {
	if length > MaxWebhookBody {
		return nil, reservation{}, errBodyTooLarge
	}
	if length >= SmallWebhookBody {
		res, ok := b.reserve(length, false)
		if !ok {
			return nil, reservation{}, errBodyBudget
		}
		// Exactly the declared size, read once: no buffer grows, no copy is left for the collector.
		// The server ends the body at Content-Length, so nothing can follow.
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			res.release()
			return nil, reservation{}, err
		}
		return body, res, nil
	}
	if length >= 0 {
		// A kept buffer of the body's size class, whose whole size is reserved.
		class := 0
		if length > 1<<minBufferBits {
			class = bits.Len64(uint64(length-1)) - minBufferBits
		}
		res, ok := b.reserve(1<<(minBufferBits+class), true)
		if !ok {
			return nil, reservation{}, errBodyBudget
		}
		buf, _ := b.buffers[class].Get().(*[]byte)
		if buf == nil {
			buf = new(make([]byte, 1<<(minBufferBits+class)))
		}
		res.buf, res.class = buf, class
		body := (*buf)[:length]
		if _, err := io.ReadFull(r, body); err != nil {
			res.release()
			return nil, reservation{}, err
		}
		return body, res, nil
	}
	return b.readUnknown(r)
}

// readUnknown reads a body of unknown length into a buffer that doubles as it fills, reserving each
// new buffer before making it and releasing the old one after the copy.
func (b *BodyBudget) readUnknown(r io.Reader) ([]byte, reservation, error) {
	var buf []byte
	var res reservation
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxWebhookBody {
				res.release()
				return nil, reservation{}, errBodyTooLarge
			}
			size := min(max(2*int64(cap(buf)), 32<<10), MaxWebhookBody+1)
			next, ok := b.reserve(size, size <= SmallWebhookBody)
			if !ok {
				res.release()
				return nil, reservation{}, errBodyBudget
			}
			grown := make([]byte, len(buf), size)
			copy(grown, buf)
			res.release()
			buf, res = grown, next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			res.release()
			return nil, reservation{}, err
		}
	}
	if len(buf) > MaxWebhookBody {
		res.release()
		return nil, reservation{}, errBodyTooLarge
	}
	return buf, res, nil
}
