package bot

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// countingReader is a body that records how much of it was read.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

// onlyRead hides bytes.Reader's WriteTo, so the body is read the way a network body is.
type onlyRead struct{ io.Reader }

func TestBodyBudgetReadBody(t *testing.T) {
	const large, small = 4 << 20, 2 << 20
	for _, tt := range []struct {
		name     string
		size     int      // bytes sent
		length   int64    // Content-Length; -1 unknown
		holding  [2]int64 // what other bodies hold of the budget: small allowance, shared part
		wantErr  error
		wantHeld [2]int64 // what this body holds while it is kept: small allowance, shared part
	}{
		{name: "small, declared: its buffer's size class", size: 10 << 10, length: 10 << 10, wantHeld: [2]int64{16 << 10, 0}},
		{name: "small, declared, between classes", size: 16<<10 + 1, length: 16<<10 + 1, wantHeld: [2]int64{32 << 10, 0}},
		{name: "small, declared, largest class", size: 1<<20 - 1, length: 1<<20 - 1, wantHeld: [2]int64{1 << 20, 0}},
		{name: "empty", size: 0, length: 0, wantHeld: [2]int64{16 << 10, 0}},
		{name: "small, declared, small allowance full: the shared part", size: 10 << 10, length: 10 << 10,
			holding: [2]int64{small, 0}, wantHeld: [2]int64{0, 16 << 10}},
		{name: "small, declared, small allowance full, shared part full", size: 10 << 10, length: 10 << 10,
			holding: [2]int64{small, large}, wantErr: errBodyBudget},
		{name: "small, shared part full: its own allowance", size: 10 << 10, length: 10 << 10,
			holding: [2]int64{0, large}, wantHeld: [2]int64{16 << 10, 0}},
		{name: "large, declared", size: 3 << 20, length: 3 << 20, wantHeld: [2]int64{0, 3 << 20}},
		{name: "large never takes the small allowance", size: 3 << 20, length: 3 << 20,
			holding: [2]int64{0, 2 << 20}, wantErr: errBodyBudget},
		{name: "declared over 25 MB", size: 10, length: MaxWebhookBody + 1, wantErr: errBodyTooLarge},
		{name: "unknown length, small", size: 100 << 10, length: -1, wantHeld: [2]int64{128 << 10, 0}},
		{name: "unknown length, grows into the shared part", size: 1<<20 + 1, length: -1, wantHeld: [2]int64{0, 2 << 20}},
		{name: "unknown length, shared part too small", size: 3 << 20, length: -1, wantErr: errBodyBudget},
		{name: "declared longer than sent", size: 10, length: 20, wantErr: io.ErrUnexpectedEOF},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &BodyBudget{Large: large, Small: small}
			b.small.Store(tt.holding[0])
			b.large.Store(tt.holding[1])
			sent := bytes.Repeat([]byte("x"), tt.size)
			r := &countingReader{r: onlyRead{bytes.NewReader(sent)}}

			body, res, err := b.readBody(r, tt.length)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readBody = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if body != nil || res != (reservation{}) {
					t.Errorf("a refused body came back with %d bytes and reservation %+v", len(body), res)
				}
				if errors.Is(err, errBodyBudget) && tt.length >= 0 && r.read != 0 {
					t.Errorf("%d bytes read of a body the budget refused, want none", r.read)
				}
			} else if !bytes.Equal(body, sent) {
				t.Errorf("body of %d bytes, want the %d sent", len(body), len(sent))
			}
			if got := [2]int64{b.small.Load(), b.large.Load()}; err == nil && got != [2]int64{tt.holding[0] + tt.wantHeld[0], tt.holding[1] + tt.wantHeld[1]} {
				t.Errorf("budget holds %v while the body is kept, want %v more than %v", got, tt.wantHeld, tt.holding)
			}
			res.release()
			if got := [2]int64{b.small.Load(), b.large.Load()}; got != tt.holding {
				t.Errorf("budget holds %v after release, want %v as before", got, tt.holding)
			}
		})
	}
}

func TestBodyBudgetDefaults(t *testing.T) {
	var b BodyBudget
	res, ok := b.reserve(DefaultLargeBodyBudget, false)
	if !ok {
		t.Fatal("the zero budget refused its default size")
	}
	if _, ok := b.reserve(1, false); ok {
		t.Fatal("the zero budget took a byte over its default size")
	}
	if _, ok := b.reserve(DefaultSmallBodyBudget, true); !ok {
		t.Fatal("a full shared part shut out the small allowance")
	}
	res.release()
	if _, ok := b.reserve(MaxWebhookBody, false); !ok {
		t.Fatal("released bytes were not given back")
	}
}

// A kept buffer serves the next body of its size class, and nothing of the body before shows
// through.
func TestBodyBudgetReusesBuffers(t *testing.T) {
	var b BodyBudget
	first, res, err := b.readBody(onlyRead{bytes.NewReader(bytes.Repeat([]byte("a"), 12<<10))}, 12<<10)
	if err != nil {
		t.Fatal(err)
	}
	res.release()
	second, res, err := b.readBody(onlyRead{bytes.NewReader(bytes.Repeat([]byte("b"), 9<<10))}, 9<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer res.release()
	if !bytes.Equal(second, bytes.Repeat([]byte("b"), 9<<10)) {
		t.Fatalf("second body is not what was sent: %q...", second[:16])
	}
	if &first[0] != &second[0] {
		t.Log("the buffer was not kept (the pool may drop buffers at any collection)")
	}
}
